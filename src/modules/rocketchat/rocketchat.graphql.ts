/**
 * The GraphQL door of Rocket.Chat-compatible webhook integrations: the same integrations, rules and permissions as
 * the Rocket.Chat REST shim (rocketchat.rest.ts), through the typed entry points of management.service.ts.
 */
import { builder } from '../../graphql/builder.js';
import { ErrorInterface, mutationErrors, mutationResult } from '../../graphql/errors.js';
import { toConnection } from '../../graphql/pagination.js';
import { UserRef } from '../auth/auth.graphql.js';
import { DeliveryHealthRef } from '../deliveries/deliveries.graphql.js';
import { OrganisationRef } from '../organisations/organisations.graphql.js';
import { InvalidScriptError } from './integration-fields.js';
import {
  createWebhookIntegrationIn,
  findWebhookIntegration,
  incomingHookUrl,
  integrationRuns,
  listOrganisationWebhookIntegrations,
  outgoingUrlHealth,
  recoverWebhookIntegrationSince,
  reenableWebhookIntegrationUrl,
  removeWebhookIntegrationById,
  updateWebhookIntegrationById,
  type ManagedIntegration,
  type WebhookIntegrationInput,
} from './management.service.js';
import { RECOVER_MAX, type TargetHealthView } from '../deliveries/deliveries.service.js';
import type { OutgoingEvent, RetryDelay, WebhookIntegrationHistory, WebhookType } from './webhook-integration.entity.js';

// ---------------------------------------------------------------------------------------------------
// Enums (each value carries Rocket.Chat's own spelling, the one REST uses)

const TYPE_VALUES: Record<'INCOMING' | 'OUTGOING', { value: WebhookType; description: string }> = {
  INCOMING: { value: 'webhook-incoming', description: "Rocket.Chat's `webhook-incoming`: a secret URL (`/hooks/{id}/{token}`) that posts what it receives into the integration's channels." },
  OUTGOING: { value: 'webhook-outgoing', description: "Rocket.Chat's `webhook-outgoing`: an event in the integration's channels POSTs Rocket.Chat's payload to each of its urls." },
};
export const WebhookIntegrationTypeEnum = builder.enumType('WebhookIntegrationType', {
  description: 'The two kinds of Rocket.Chat-compatible webhook integration.',
  values: TYPE_VALUES,
});

const EVENT_VALUES: Record<string, { value: OutgoingEvent; description: string }> = {
  SEND_MESSAGE: { value: 'sendMessage', description: '`sendMessage`: every message stored in a watched channel (filtered by `triggerWords` when it has some).' },
  ROOM_CREATED: { value: 'roomCreated', description: '`roomCreated`: a channel created in the organisation (watched: named, or under an all_* scope).' },
  ROOM_ARCHIVED: { value: 'roomArchived', description: '`roomArchived`: accepted and kept, never fires (Switchboard has no archiving).' },
  ROOM_JOINED: { value: 'roomJoined', description: '`roomJoined`: accepted and kept, never fires (Switchboard has no channel membership).' },
  ROOM_LEFT: { value: 'roomLeft', description: '`roomLeft`: accepted and kept, never fires (Switchboard has no channel membership).' },
  FILE_UPLOADED: { value: 'fileUploaded', description: '`fileUploaded`: accepted and kept, never fires (Switchboard has no files).' },
  USER_CREATED: { value: 'userCreated', description: '`userCreated`: accepted and kept, never fires (users belong to no organisation when created).' },
};
export const WebhookOutgoingEventEnum = builder.enumType('WebhookOutgoingEvent', {
  description: "The event that triggers an outgoing integration (Rocket.Chat's `event`).",
  values: EVENT_VALUES,
});

const RETRY_VALUES: Record<string, { value: RetryDelay; description: string }> = {
  POWERS_OF_TEN: { value: 'powers-of-ten', description: '`powers-of-ten` (the default): 0.1 s, 1 s, 10 s, 1 min 40 s ...' },
  POWERS_OF_TWO: { value: 'powers-of-two', description: '`powers-of-two`: 2 s, 4 s, 8 s ...' },
  INCREMENTS_OF_TWO: { value: 'increments-of-two', description: '`increments-of-two`: 2 s, 4 s, 6 s ...' },
};
export const WebhookRetryDelayEnum = builder.enumType('WebhookRetryDelay', {
  description: "How long an outgoing integration waits before each retry of a failed call (Rocket.Chat's `retryDelay`).",
  values: RETRY_VALUES,
});

// ---------------------------------------------------------------------------------------------------
// Objects

const outgoing = (m: ManagedIntegration) => m.integration.type === 'webhook-outgoing';

const WebhookIntegrationRunRef = builder.objectRef<WebhookIntegrationHistory>('WebhookIntegrationRun').implement({
  description:
    "One run of a webhook integration (an entry of Rocket.Chat's integrations.history): an outgoing call, or an incoming call that ran a script or failed, with what its script did and the HTTP call it made. Secrets are masked as in the REST history.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The run id: sortable by time; the cursor of `WebhookIntegration.history` (`_id` on REST).' }),
    type: t.exposeString('type', { description: '`outgoing-webhook` or `incoming-webhook`.' }),
    step: t.exposeString('step', {
      description: 'Where the run ended: finished, pre-http-call (waiting for its call), http-error, execute-script-error, script-returned-message, invalid-message, disabled ...',
    }),
    event: t.exposeString('event', { nullable: true, description: 'The event that triggered an outgoing run (`sendMessage`, `roomCreated`); null for incoming runs.' }),
    triggerWord: t.exposeString('triggerWord', { nullable: true, description: 'The trigger word the message matched, when the integration has trigger words.' }),
    url: t.exposeString('url', { nullable: true, description: 'The integration url the run was for (outgoing), before any prepare script changed it.' }),
    data: t.field({ type: 'JSON', nullable: true, description: 'The payload received (incoming) or built (outgoing), the outgoing token masked.', resolve: (h) => h.data ?? null }),
    ranPrepareScript: t.exposeBoolean('ranPrepareScript', { description: 'Whether prepare_outgoing_request ran.' }),
    finished: t.exposeBoolean('finished', { description: 'Whether the run is over (false while its call waits for an attempt or a retry).' }),
    error: t.exposeBoolean('error', { description: 'Whether it ended in failure; `errorMessage` says why.' }),
    errorMessage: t.exposeString('errorMessage', { nullable: true, description: "Why it failed (Rocket.Chat's `errorStack`): the script's error, or the call's last error." }),
    scriptLogs: t.stringList({ description: "The script's console lines, the integration's tokens masked; empty when it logged nothing.", resolve: (h) => h.scriptLogs ?? [] }),
    scriptHttpCalls: t.field({
      type: 'JSON',
      nullable: true,
      description: "The script's own HTTP calls (fetch / serverFetch): method, url with secret-looking query values masked, status, ms, error; null when it made none.",
      resolve: (h) => (h.scriptHttpCalls?.length ? h.scriptHttpCalls : null),
    }),
    httpCallData: t.field({ type: 'JSON', nullable: true, description: 'The call as it was sent (url, method, data with the token masked); null when none was made.', resolve: (h) => h.httpCallData ?? null }),
    httpStatus: t.exposeInt('httpStatus', { nullable: true, description: 'The HTTP status of the last answer; null before one came (or when none did).' }),
    httpResult: t.exposeString('httpResult', { nullable: true, description: 'The start of the last answer (at most 2 KB).' }),
    httpError: t.exposeString('httpError', { nullable: true, description: 'Why the last attempt failed (status, timeout, unreachable ...); null on success.' }),
    deliveryId: t.exposeID('deliveryId', {
      nullable: true,
      description: "The first Delivery of the run's outgoing call (retries follow it in `Channel.deliveries`): pass it to `replayDelivery` to send the call again. Null when no call was made.",
    }),
    replayOf: t.exposeID('replayOf', { nullable: true, description: 'A replayed call: the id of the run it sends again.' }),
    messageId: t.exposeID('messageId', { nullable: true, description: 'The message that triggered the outgoing call.' }),
    postedMessageIds: t.idList({ description: 'The messages the run posted (an incoming call, or an outgoing reply); empty when none.', resolve: (h) => h.postedMessageIds ?? [] }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the run started.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed (an answer, a retry).' }),
  }),
});

const WebhookUrlHealthRef = builder.objectRef<{ url: string; health: TargetHealthView }>('WebhookUrlHealth').implement({
  description: "The health of one url of an outgoing integration: each url has its own circuit (shared by every channel the integration watches).",
  fields: (t) => ({
    url: t.exposeString('url', { description: 'The url, as in `urls`.' }),
    health: t.field({
      type: DeliveryHealthRef,
      description:
        'Its circuit, consecutive failures, failure rate of the last 24 hours and last error. Calls whose url a prepare script changed count against the url they went to, not this one.',
      resolve: (h) => h.health,
    }),
  }),
});

export const WebhookIntegrationRef = builder.objectRef<ManagedIntegration>('WebhookIntegration').implement({
  description:
    "A Rocket.Chat-compatible webhook integration of an organisation: the same object as Rocket.Chat's integrations API (`/api/v1/integrations.*`) shows, with the same permissions: admins and owners manage every one of the organisation, members the ones they created.",
  fields: (t) => ({
    id: t.id({ description: 'The UUID of the integration (`_id` on REST; the `{id}` of an incoming hook URL).', resolve: (m) => m.integration.id }),
    type: t.field({ type: WebhookIntegrationTypeEnum, description: 'INCOMING or OUTGOING; fixed at creation.', resolve: (m) => m.integration.type }),
    organisationId: t.id({ description: 'The organisation it belongs to (its channels are that organisation\'s).', resolve: (m) => m.integration.organisation.id }),
    name: t.string({ description: 'Its name, 1 to 255 characters.', resolve: (m) => m.integration.name }),
    enabled: t.boolean({ description: 'A disabled incoming hook answers 503; a disabled outgoing integration calls nothing. A 410 answer, or its creator leaving the organisation, disables it.', resolve: (m) => m.integration.enabled }),
    channels: t.stringList({
      description: "Where it posts (incoming) and what it watches (outgoing): `#name` channels of the organisation, or `all_public_channels`, `all_private_groups`, `all_direct_messages` (each: every channel). REST's `channel`.",
      resolve: (m) => m.integration.channels,
    }),
    username: t.string({ description: "The name its messages are posted under (Rocket.Chat's \"Post as\").", resolve: (m) => m.integration.username }),
    alias: t.string({ nullable: true, description: 'The name shown on its messages instead of `username`, when set.', resolve: (m) => m.integration.alias ?? null }),
    emoji: t.string({ nullable: true, description: 'An emoji shown as the avatar of its messages (`:ghost:`), when set.', resolve: (m) => m.integration.emoji ?? null }),
    avatar: t.string({ nullable: true, description: 'An image URL shown as the avatar of its messages, when set (it wins over `emoji`).', resolve: (m) => m.integration.avatar ?? null }),
    scriptEnabled: t.boolean({ description: 'Whether `script` runs.', resolve: (m) => m.integration.scriptEnabled }),
    script: t.string({
      nullable: true,
      description: "Its `class Script` (process_incoming_request, or prepare_outgoing_request and process_outgoing_response), run in an isolated-vm sandbox; null when it has none.",
      resolve: (m) => m.integration.script ?? null,
    }),
    hookUrl: t.string({
      nullable: true,
      description:
        'Incoming: the URL to POST (or GET) messages to, token included. Shown once, on the answer of createWebhookIntegration: only a hash of the token is kept, so it is null everywhere else. Lost it? Create a new integration and remove this one.',
      resolve: (m, _a, ctx) => incomingHookUrl(ctx.deps, m),
    }),
    token: t.string({
      nullable: true,
      description:
        "As REST's `token`: outgoing, the token sent in each payload, masked (`********` and its last four characters), null when it has none; incoming, the hook token in full on the answer of createWebhookIntegration only, null everywhere else.",
      resolve: (m) => m.token ?? m.maskedOutgoingToken,
    }),
    event: t.field({ type: WebhookOutgoingEventEnum, nullable: true, description: 'Outgoing: the event that triggers it; null for incoming integrations.', resolve: (m) => (outgoing(m) ? (m.integration.event as OutgoingEvent) : null) }),
    urls: t.stringList({ description: 'Outgoing: the http(s) URLs each event is POSTed to, one call each; empty for incoming integrations.', resolve: (m) => (outgoing(m) ? m.integration.urls : []) }),
    triggerWords: t.stringList({
      description: 'Outgoing `sendMessage`: only messages that start with one of these words (or contain one, with `triggerWordAnywhere`) trigger it; empty: every message.',
      resolve: (m) => (outgoing(m) ? m.integration.triggerWords : []),
    }),
    triggerWordAnywhere: t.boolean({ nullable: true, description: 'Outgoing: match trigger words anywhere in the text rather than at its start; null for incoming.', resolve: (m) => (outgoing(m) ? m.integration.triggerWordAnywhere : null) }),
    retryFailedCalls: t.boolean({ nullable: true, description: 'Outgoing: whether a failed call is tried again (default true); null for incoming.', resolve: (m) => (outgoing(m) ? m.integration.retryFailedCalls : null) }),
    retryCount: t.int({ nullable: true, description: 'Outgoing: how many times a failed call is tried again, 0 to 20 (default 6); null for incoming.', resolve: (m) => (outgoing(m) ? m.integration.retryCount : null) }),
    retryDelay: t.field({ type: WebhookRetryDelayEnum, nullable: true, description: 'Outgoing: the waits between tries; null for incoming.', resolve: (m) => (outgoing(m) ? (m.integration.retryDelay as RetryDelay) : null) }),
    createdBy: t.field({
      type: UserRef,
      nullable: true,
      description: 'Who created it (it runs as theirs; a member manages only their own). Null when that user is gone. An admin who changes an integration whose creator left the organisation becomes its creator.',
      resolve: (m) => m.integration.createdBy ?? null,
    }),
    updatedBy: t.field({ type: UserRef, nullable: true, description: 'Who changed it last; null when nobody has (or that user is gone).', resolve: (m) => m.integration.updatedBy ?? null }),
    createdAt: t.field({ type: 'DateTime', description: 'When it was created.', resolve: (m) => m.integration.createdAt }),
    updatedAt: t.field({ type: 'DateTime', description: 'When it was last changed.', resolve: (m) => m.integration.updatedAt }),
    health: t.field({
      type: [WebhookUrlHealthRef],
      nullable: true,
      description:
        'Outgoing: the health of each url (its circuit, failures, last error), in `urls` order. Null for incoming integrations: they make no calls, so they have no endpoint to be healthy or not (a refused incoming call shows in `history`). A few queries per url: ask for it on one integration or a short page.',
      resolve: (m, _a, ctx) => outgoingUrlHealth(ctx, m),
    }),
    history: t.connection(
      {
        type: WebhookIntegrationRunRef,
        description:
          "Its runs (Rocket.Chat's integrations.history), newest first: every outgoing call, and every incoming call that ran a script or failed. Each run with an HTTP call links its `deliveryId`.",
        resolve: async (m, args, ctx) => {
          const page = await integrationRuns(ctx, m, args);
          return { edges: page.items.map((node) => ({ node, cursor: node.id })), pageInfo: page.pageInfo };
        },
      },
      { name: 'WebhookIntegrationRunConnection', description: "A page of a webhook integration's runs, newest first; cursors are run ids." },
      { name: 'WebhookIntegrationRunEdge', description: 'One run of the page, with its cursor (the run id).' },
    ),
  }),
});

// ---------------------------------------------------------------------------------------------------
// Queries

builder.objectField(OrganisationRef, 'webhookIntegrations', (t) =>
  t.connection(
    {
      type: WebhookIntegrationRef,
      description:
        "The organisation's Rocket.Chat-compatible webhook integrations you may manage, newest first: all of them for admins and owners, your own for members (as integrations.list).",
      args: { type: t.arg({ type: WebhookIntegrationTypeEnum, description: 'Only integrations of this type.' }) },
      resolve: async (org, args, ctx) => {
        const { cursor, integrations } = await listOrganisationWebhookIntegrations(ctx, org.id, args);
        return toConnection(cursor, integrations) as never;
      },
    },
    {
      name: 'WebhookIntegrationConnection',
      description: "A page of an organisation's webhook integrations, newest first.",
      fields: (c) => ({
        totalCount: c.int({
          nullable: true,
          description: 'How many integrations the list has in all (not only on this page).',
          resolve: (conn) => (conn as { totalCount?: number }).totalCount ?? null,
        }),
      }),
    },
    { name: 'WebhookIntegrationEdge', description: 'One webhook integration of the page, with its cursor.' },
  ),
);

builder.queryField('webhookIntegration', (t) =>
  t.field({
    type: WebhookIntegrationRef,
    nullable: true,
    description:
      "One Rocket.Chat-compatible webhook integration; null when it does not exist or belongs to an organisation you are not a member of. A member asking for someone else's gets a FORBIDDEN error (as integrations.get answers 403).",
    args: { id: t.arg.id({ required: true, description: 'The UUID of the integration.' }) },
    resolve: (_r, { id }, ctx) => findWebhookIntegration(ctx, String(id)),
  }),
);

// ---------------------------------------------------------------------------------------------------
// Mutations

builder.objectType(InvalidScriptError, {
  name: 'InvalidScriptError',
  description:
    "The script cannot work: a syntax error, no `class Script`, or an error while its top level runs. Nothing was saved. `message` is the compiler's (e.g. `SyntaxError: Unexpected token ';' [integration-script.js:3:15]`).",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    field: t.exposeString('field', { description: 'The offending input: `script`.' }),
    line: t.exposeInt('line', { nullable: true, description: 'The line of the script the compiler points at, from 1; null when it names none (no `class Script`, a time limit).' }),
    column: t.exposeInt('column', { nullable: true, description: 'The column on that line, from 1; null when the compiler names none.' }),
  }),
});

/** Create and update: the usual expected failures, plus a script that does not compile. */
const webhookResult = (data: string) => ({ types: [...mutationErrors.types, InvalidScriptError], dataField: { description: data } });

const FIELD_TEXT = {
  name: 'Its name, 1 to 255 characters.',
  enabled: 'Whether it runs.',
  username: "The name its messages are posted under (Rocket.Chat's \"Post as\"), 1 to 255 characters.",
  channels: '`#name` channels of the organisation, or `all_public_channels` / `all_private_groups` / `all_direct_messages` (every channel). An unknown `#name`, a name without `#` or a `@user` is a ValidationError on `channels`.',
  alias: 'A name shown on its messages instead of `username`.',
  avatar: 'An image URL shown as the avatar of its messages.',
  emoji: 'An emoji shown as the avatar of its messages (`:ghost:`).',
  scriptEnabled: 'Whether `script` runs.',
  script: "A `class Script` with Rocket.Chat's methods. It is compiled now: a syntax error is an InvalidScriptError on `script` with the compiler's message, line and column, and nothing is saved.",
  event: 'Outgoing: the event that triggers it.',
  urls: 'Outgoing: the http(s) URLs each event is POSTed to, at least one. A bad one is a ValidationError on `urls.N`.',
  triggerWords: 'Outgoing `sendMessage`: only messages starting with one of these words trigger it (empty: every message).',
  triggerWordAnywhere: 'Outgoing: match trigger words anywhere in the text.',
  token: 'Outgoing: a token sent in each payload (`token`), for the receiver to check; stored encrypted, shown masked.',
  retryFailedCalls: 'Outgoing: try failed calls again.',
  retryCount: 'Outgoing: how many times, 0 to 20.',
  retryDelay: 'Outgoing: the waits between tries.',
};

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** The integration's own fields, for create (`create`: what it needs, defaults) and update (all optional). */
function integrationFields(f: PothosSchemaTypes.InputFieldBuilder<Types, 'InputObject'>, create: boolean) {
  const keep = create ? '' : ' Absent keeps the current value.';
  const clear = create ? '' : ' Absent keeps the current value; null removes it.';
  return {
    name: f.string({ required: create, description: FIELD_TEXT.name + keep }),
    enabled: f.boolean({ description: FIELD_TEXT.enabled + (create ? ' Default true.' : keep) }),
    username: f.string({ required: create, description: FIELD_TEXT.username + keep }),
    channels: f.stringList({ required: create, description: FIELD_TEXT.channels + keep }),
    alias: f.string({ description: FIELD_TEXT.alias + clear }),
    avatar: f.string({ description: FIELD_TEXT.avatar + clear }),
    emoji: f.string({ description: FIELD_TEXT.emoji + clear }),
    scriptEnabled: f.boolean({ description: FIELD_TEXT.scriptEnabled + (create ? ' Default false.' : keep) }),
    script: f.string({ description: FIELD_TEXT.script + clear }),
    event: f.field({ type: WebhookOutgoingEventEnum, description: FIELD_TEXT.event + (create ? ' Required for OUTGOING: missing, it is a ValidationError on `event`.' : keep) }),
    urls: f.stringList({ description: FIELD_TEXT.urls + (create ? ' Required for OUTGOING: missing, it is a ValidationError on `urls`.' : keep) }),
    triggerWords: f.stringList({ description: FIELD_TEXT.triggerWords + clear }),
    triggerWordAnywhere: f.boolean({ description: FIELD_TEXT.triggerWordAnywhere + (create ? ' Default false.' : keep) }),
    token: f.string({ description: FIELD_TEXT.token + clear }),
    retryFailedCalls: f.boolean({ description: FIELD_TEXT.retryFailedCalls + (create ? ' Default true.' : keep) }),
    retryCount: f.int({ description: FIELD_TEXT.retryCount + (create ? ' Default 6.' : keep) }),
    retryDelay: f.field({ type: WebhookRetryDelayEnum, description: FIELD_TEXT.retryDelay + (create ? ' Default POWERS_OF_TEN.' : keep) }),
  };
}

const CreateWebhookIntegrationInput = builder.inputType('CreateWebhookIntegrationInput', {
  description: 'A webhook integration to create (the fields of Rocket.Chat\'s integrations.create, typed). Outgoing-only fields are ignored for incoming integrations.',
  fields: (f) => ({
    organisationId: f.id({ required: true, description: 'The UUID of the organisation; its `#name` channels are the ones `channels` names. Any member may create.' }),
    type: f.field({ type: WebhookIntegrationTypeEnum, required: true, description: 'INCOMING or OUTGOING; fixed for its life.' }),
    ...integrationFields(f, true),
  }),
});

const UpdateWebhookIntegrationInput = builder.inputType('UpdateWebhookIntegrationInput', {
  description: "Changes to a webhook integration (integrations.update, typed): absent fields keep their value. Changing it restarts its script's Store and lifts a suspension.",
  fields: (f) => ({
    id: f.id({ required: true, description: 'The UUID of the integration.' }),
    ...integrationFields(f, false),
  }),
});

/** The typed input minus what is not a field of the integration. */
const fieldsOf = ({ organisationId: _o, type: _t, id: _i, ...fields }: Record<string, unknown>) => fields as WebhookIntegrationInput;

const RecoveryRef = builder.objectRef<{ history: WebhookIntegrationHistory[]; remaining: number }>('WebhookIntegrationRecovery').implement({
  description: 'The failed calls of an outgoing integration sent again: one new run (and delivery) each, pending until the worker sends it (at once).',
  fields: (t) => ({
    runs: t.field({ type: [WebhookIntegrationRunRef], description: 'The new runs, oldest call first; each has `replayOf` set to the run it sends again.', resolve: (r) => r.history }),
    count: t.int({ description: 'How many calls are sent again.', resolve: (r) => r.history.length }),
    remaining: t.exposeInt('remaining', { description: `Failed calls not sent this time (one recovery sends at most ${RECOVER_MAX}); run it again once these are done.` }),
  }),
});

builder.mutationFields((t) => ({
  createWebhookIntegration: t.field({
    type: WebhookIntegrationRef,
    description:
      "Create a Rocket.Chat-compatible webhook integration (as integrations.create). Any member of the organisation may; the integration is theirs. An incoming integration's `hookUrl` is in this answer only.",
    errors: webhookResult('The new integration; for an incoming one, `hookUrl` and `token` in full (shown this once).'),
    args: { input: t.arg({ type: CreateWebhookIntegrationInput, required: true, description: 'The integration.' }) },
    resolve: (_r, { input }, ctx) => createWebhookIntegrationIn(ctx, String(input.organisationId), input.type, fieldsOf(input)),
  }),
  updateWebhookIntegration: t.field({
    type: WebhookIntegrationRef,
    description:
      "Change a webhook integration (as integrations.update). Admins and owners change any of the organisation's; a member only their own (ForbiddenError otherwise); one of an organisation you are not a member of is a NotFoundError.",
    errors: webhookResult('The integration as it now is.'),
    args: { input: t.arg({ type: UpdateWebhookIntegrationInput, required: true, description: 'The integration and what to change.' }) },
    resolve: (_r, { input }, ctx) => updateWebhookIntegrationById(ctx, String(input.id), fieldsOf(input)),
  }),
  removeWebhookIntegration: t.field({
    type: WebhookIntegrationRef,
    description: 'Remove a webhook integration with its history (as integrations.remove); an incoming hook URL then answers 404. Same permissions as updateWebhookIntegration.',
    errors: mutationResult('The removed integration, as it was.'),
    args: {
      input: t.arg({
        description: 'The integration to remove.',
        type: builder.inputType('RemoveWebhookIntegrationInput', {
          description: 'A webhook integration to remove.',
          fields: (f) => ({ id: f.id({ required: true, description: 'The UUID of the integration.' }) }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => removeWebhookIntegrationById(ctx, String(input.id)),
  }),
  recoverWebhookIntegration: t.field({
    type: RecoveryRef,
    description: `Send again every call of an outgoing integration (all its urls and channels) that failed since a time (as integrations.recover): each call whose last attempt failed at or after \`since\` and none of whose attempts succeeded or is pending, once, oldest first, at most ${RECOVER_MAX}. Admins and owners of the organisation only; an incoming integration is a ValidationError on \`integrationId\`. One run: \`replayDelivery\` with its \`deliveryId\`.`,
    errors: mutationResult('The new runs, and how many failed calls are left for another run.'),
    args: {
      input: t.arg({
        description: 'The integration, and since when.',
        type: builder.inputType('RecoverWebhookIntegrationInput', {
          description: 'The failed calls of an outgoing integration to send again.',
          fields: (f) => ({
            integrationId: f.id({ required: true, description: 'The UUID of the outgoing integration.' }),
            since: f.field({ type: 'DateTime', required: true, description: 'Calls that failed at or after this time (not in the future).' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => recoverWebhookIntegrationSince(ctx, { integrationId: String(input.integrationId), since: input.since as Date }),
  }),
  reenableWebhookIntegrationUrl: t.field({
    type: WebhookUrlHealthRef,
    description:
      "Re-enable an outgoing integration's calls to one url after they were disabled (or close its open circuit now): its failure count starts again from zero. Calls that failed meanwhile stay failed: send them again with recoverWebhookIntegration. Admins and owners of the organisation only.",
    errors: mutationResult('The health of the url, now CLOSED.'),
    args: {
      input: t.arg({
        description: 'The integration and the url.',
        type: builder.inputType('ReenableWebhookIntegrationUrlInput', {
          description: "A url of an outgoing integration whose calls to re-enable.",
          fields: (f) => ({
            integrationId: f.id({ required: true, description: 'The UUID of the outgoing integration.' }),
            url: f.string({ required: true, description: 'The url as `health` shows it: one of `urls`, or one its prepare script sent calls to.' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => reenableWebhookIntegrationUrl(ctx, { integrationId: String(input.integrationId), url: input.url }),
  }),
}));
