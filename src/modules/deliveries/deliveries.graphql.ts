import { builder } from '../../graphql/builder.js';
import { mutationResult } from '../../graphql/errors.js';
import { ChannelRef } from '../channels/channels.graphql.js';
import { PageInfo } from '../../graphql/pagination.js';
import type { Delivery } from './delivery.entity.js';
import { listChannelDeliveries, RECOVER_MAX, recoverDeliveries, reenableDeliveryTarget, replayDelivery, type TargetHealthView, type TargetOptions } from './deliveries.service.js';
import { deliveryEventStream, type DeliveryEventKind, type DeliveryEventTargetView, type DeliveryEventView, type DeliveryView } from './delivery-events.js';
import { TARGET_STATES } from './delivery-target.entity.js';

export const DeliveryRef = builder.objectRef<DeliveryView>('Delivery').implement({
  description: 'One outbound call attempt (modifier, output, tick, outgoing webhook ...): why an integration failed, and when it is tried again.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The delivery id: sortable by creation time; the cursor of `Channel.deliveries`.' }),
    kind: t.exposeString('kind', { description: 'modifier, output, tick, outgoing_webhook, custom_channel ...' }),
    targetId: t.exposeID('targetId', { nullable: true, description: 'The integration (or other target) the call was made for.' }),
    channelId: t.id({ nullable: true, description: 'The channel the call was made for; null for calls outside a channel.', resolve: (d) => d.channel?.id ?? null }),
    url: t.exposeString('url', { description: 'The URL that was (or, while pending, will be) called.' }),
    attempt: t.exposeInt('attempt', { description: 'The attempt number, from 1.' }),
    status: t.exposeString('status', { description: 'pending (due at nextAttemptAt), succeeded, failed (final), or retried (failed; the next attempt is queued).' }),
    statusCode: t.exposeInt('statusCode', { nullable: true, description: 'The HTTP status of the answer; null when there was none (pending, timeout, refused connection, blocked address).' }),
    latencyMs: t.exposeInt('latencyMs', { nullable: true, description: 'How long the call took, in milliseconds; null while pending.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why the attempt failed (timeout, unreachable, blocked private address, non-2xx status ...); null on success or while pending.' }),
    response: t.exposeString('response', { nullable: true, description: 'The start of the answer (at most 2 KB). Always null in `deliveryEvents`: read it in `Channel.deliveries`.' }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true, description: 'When a pending attempt is due; null once it was made.' }),
    messageId: t.exposeID('messageId', { nullable: true, description: 'The message the call carried or produced, when there is one.' }),
    webhookId: t.string({
      description: "The call's `webhook-id` (Standard Webhooks' idempotency key): the id of its first attempt, the same on every retry and replay.",
      resolve: (d) => d.webhookId ?? d.id,
    }),
    replayOf: t.exposeID('replayOf', {
      nullable: true,
      description: 'A replay (replayDelivery, recoverDeliveries): the id of the attempt it sent again. Null for attempts the queue made on its own.',
    }),
    requestId: t.exposeString('requestId', { nullable: true, description: 'The id of the request (x-request-id) or job run the call came from: its log lines, retries included, carry it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the attempt was queued.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When its status last changed.' }),
  }),
});

const DeliveryEdge = builder.objectRef<{ node: Delivery; cursor: string }>('DeliveryEdge').implement({
  description: 'A delivery of a page, with its cursor.',
  fields: (t) => ({
    node: t.field({ type: DeliveryRef, description: 'The delivery attempt.', resolve: (e) => e.node }),
    cursor: t.exposeString('cursor', { description: 'The delivery id, as a cursor for `after`.' }),
  }),
});

type Page = Awaited<ReturnType<typeof listChannelDeliveries>>;
const DeliveryConnection = builder.objectRef<Page>('DeliveryConnection').implement({
  description: "A page of a channel's deliveries, newest first; cursors are delivery ids.",
  fields: (t) => ({
    edges: t.field({ type: [DeliveryEdge], description: 'The deliveries of this page, newest first.', resolve: (c) => c.edges }),
    pageInfo: t.field({ type: PageInfo, description: 'Whether older deliveries follow (`hasNextPage`; ask with `after: endCursor`).', resolve: (c) => c.pageInfo }),
  }),
});

builder.objectField(ChannelRef, 'deliveries', (t) =>
  t.field({
    type: DeliveryConnection,
    description: "The channel's outbound calls, newest first: every attempt, with its answer or error.",
    args: {
      first: t.arg.int({ description: 'At most this many deliveries (0 to 100). Default 50.' }),
      after: t.arg.string({ description: 'A delivery id (e.g. the endCursor of the previous page): only older deliveries.' }),
      kind: t.arg.string({ description: 'Only this kind: modifier, output, tick, outgoing_webhook, custom_channel ...' }),
      status: t.arg.string({ description: 'Only this status: pending, succeeded, failed or retried (another value is a validation error).' }),
    },
    resolve: (c, args, ctx) => listChannelDeliveries(ctx, c.id, args),
  }),
);

interface Recovery {
  deliveries: Delivery[];
  remaining: number;
}

const DeliveryRecoveryRef = builder.objectRef<Recovery>('DeliveryRecovery').implement({
  description: 'The calls a recovery sends again: one new attempt each, pending until the worker sends it (at once).',
  fields: (t) => ({
    deliveries: t.field({ type: [DeliveryRef], description: 'The new attempts, oldest call first; each has `replayOf` set to the failed attempt it repeats.', resolve: (r) => r.deliveries }),
    count: t.int({ description: 'How many calls are sent again.', resolve: (r) => r.deliveries.length }),
    remaining: t.exposeInt('remaining', { description: `Failed calls not sent this time (one recovery sends at most ${RECOVER_MAX}); run it again once these are done.` }),
  }),
});

builder.mutationFields((t) => ({
  replayDelivery: t.field({
    type: DeliveryRef,
    description:
      "Send one recorded call again, now and once (no retries), with its original body and headers: a new attempt of the same call (same `webhookId`, so a receiver that deduplicates sees it as the same call, next `attempt` number) whose `replayOf` is the delivery given. It shows in `Channel.deliveries` and `deliveryEvents`. Admins of the delivery's organisation only; a delivery of another organisation is NotFound. Only queued calls (outputs, Rocket.Chat outgoing calls, custom channels) can be replayed; a pending one is a ConflictError.",
    errors: mutationResult('The new attempt, pending: the worker sends it at once; read its outcome in `Channel.deliveries` or `deliveryEvents`.'),
    args: {
      input: t.arg({
        description: 'The delivery to send again.',
        type: builder.inputType('ReplayDeliveryInput', {
          description: 'A recorded call to send again.',
          fields: (f) => ({ deliveryId: f.id({ required: true, description: 'The id of any attempt of the call (`Delivery.id`).' }) }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => replayDelivery(ctx, { deliveryId: String(input.deliveryId) }),
  }),
  recoverDeliveries: t.field({
    type: DeliveryRecoveryRef,
    description: `Send again every call to one target (an integration on a channel, or the channel's custom-channel connection) that failed since a time: each call whose last attempt failed at or after \`since\` and none of whose attempts succeeded or is pending is replayed once, as replayDelivery does, oldest first, at most ${RECOVER_MAX} per recovery. Admins of the channel's organisation only.`,
    errors: mutationResult('The new attempts, and how many failed calls are left for another run.'),
    args: {
      input: t.arg({
        description: 'The target, and since when.',
        type: builder.inputType('RecoverDeliveriesInput', {
          description: 'The failed calls of one target to send again.',
          fields: (f) => ({
            channelId: f.id({ required: true, description: 'The UUID of the channel.' }),
            integrationId: f.id({ required: true, description: 'The integration (`Delivery.targetId`: an integration, a Rocket.Chat integration or a custom channel connection) whose calls to send again.' }),
            since: f.field({ type: 'DateTime', required: true, description: 'Calls that failed at or after this time (not in the future).' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => recoverDeliveries(ctx, { channelId: String(input.channelId), integrationId: String(input.integrationId), since: input.since as Date }),
  }),
}));

const TARGET_STATE_TEXT: Record<Uppercase<(typeof TARGET_STATES)[number]>, { description: string }> = {
  CLOSED: { description: 'Calls go out (the target is healthy, or failing fewer times in a row than DELIVERY_CIRCUIT_FAILURES).' },
  OPEN: { description: 'It failed DELIVERY_CIRCUIT_FAILURES times in a row: no call goes out until `openUntil` (DELIVERY_CIRCUIT_COOLDOWN_SECONDS); calls wait, they are not lost.' },
  HALF_OPEN: { description: 'The cool-down is over and one probe call is on its way: success closes the circuit, failure opens it again.' },
  DISABLED: { description: 'It failed without a success for DELIVERY_DISABLE_AFTER_HOURS: its calls fail at once, unsent, until an admin re-enables it (reenableDeliveryTarget; a Rocket.Chat outgoing url: reenableWebhookIntegrationUrl).' },
};
export const DeliveryTargetStateEnum = builder.enumType('DeliveryTargetState', {
  description: "A delivery target's circuit.",
  values: TARGET_STATE_TEXT,
});

export const DeliveryHealthRef = builder.objectRef<TargetHealthView>('DeliveryHealth').implement({
  description: "The health of one delivery target (an integration's queued calls on a channel): its circuit, why it is disabled, and how its calls fared over the last 24 hours.",
  fields: (t) => ({
    state: t.field({ type: DeliveryTargetStateEnum, description: 'The circuit: CLOSED, OPEN, HALF_OPEN or DISABLED.', resolve: (h) => h.state.toUpperCase() as never }),
    consecutiveFailures: t.exposeInt('consecutiveFailures', { description: 'Failed attempts since the last success.' }),
    failingSince: t.expose('failingSince', { type: 'DateTime', nullable: true, description: 'The first failure since the last success; null while healthy. The clock of DELIVERY_DISABLE_AFTER_HOURS.' }),
    openUntil: t.expose('openUntil', { type: 'DateTime', nullable: true, description: 'While OPEN: when the probe call is made.' }),
    failureRate: t.float({
      nullable: true,
      description: 'Failed attempts over all attempts of the last 24 hours (0 to 1); null when there were none.',
      resolve: (h) => (h.attempts ? h.failures / h.attempts : null),
    }),
    attempts: t.exposeInt('attempts', { description: 'Attempts made in the last 24 hours.' }),
    failures: t.exposeInt('failures', { description: 'Of those, the failed ones.' }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Why the last failed attempt failed (status, timeout, unreachable ...).' }),
    lastErrorAt: t.expose('lastErrorAt', { type: 'DateTime', nullable: true, description: 'When the last attempt failed.' }),
    lastSuccessAt: t.expose('lastSuccessAt', { type: 'DateTime', nullable: true, description: 'The last success after a failure (successes of a healthy target are not written down).' }),
    disabledReason: t.exposeString('disabledReason', { nullable: true, description: 'While DISABLED: why (since when it failed, and its last error).' }),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true, description: 'While DISABLED: since when.' }),
  }),
});

export const DeliveryOptionsRef = builder.objectRef<TargetOptions>('DeliveryOptions').implement({
  description:
    "How the queue sends one target's calls (an integration's queued calls on a channel); set with setDeliveryOptions. The default: unordered, unthrottled.",
  fields: (t) => ({
    ordered: t.exposeBoolean('ordered', {
      description:
        "true: the calls leave one at a time in the channel's commit order (`Message.seq`), each only after the one before it succeeded or was given up (its retry schedule ran out), whichever replica sends them. Per target, at least once: a retry of a call can still reach the receiver after it saw that call once. false (the default): calls go out in parallel as soon as they are due.",
    }),
    maxPerSecond: t.exposeInt('maxPerSecond', {
      nullable: true,
      description:
        'At most this many calls per second reach the target, counted across all replicas (in Redis; without REDIS_URL, by the one process), evenly spaced: one every 1/maxPerSecond s. A call over the rate waits for its turn; it is not counted as an attempt. Null: no throttle.',
    }),
  }),
});

builder.mutationFields((t) => ({
  reenableDeliveryTarget: t.field({
    type: DeliveryHealthRef,
    description:
      "Re-enable an integration's calls on a channel after it was disabled (or close its open circuit now): its failure count starts again from zero. Calls that failed meanwhile stay failed: send them again with recoverDeliveries. Admins of the channel's organisation only.",
    errors: mutationResult('The health of the target, now CLOSED.'),
    args: {
      input: t.arg({
        description: 'The integration and the channel.',
        type: builder.inputType('ReenableDeliveryTargetInput', {
          description: 'A delivery target to re-enable.',
          fields: (f) => ({
            channelId: f.id({ required: true, description: 'The UUID of the channel.' }),
            integrationId: f.id({ required: true, description: 'The UUID of the integration.' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => reenableDeliveryTarget(ctx, { channelId: String(input.channelId), integrationId: String(input.integrationId) }),
  }),
}));

// ---------------------------------------------------------------------------------------------------
// Live events

const EVENT_KIND_TEXT: Record<DeliveryEventKind, { description: string }> = {
  ATTEMPT_SUCCEEDED: { description: 'An attempt succeeded (2xx). `delivery` is the attempt.' },
  ATTEMPT_RETRIED: { description: 'An attempt failed and the next attempt of the call is queued, due at `retryAt`. `delivery` is the failed attempt.' },
  ATTEMPT_FAILED: {
    description:
      'An attempt failed and no further attempt will be made on its own: a call made once (a replay, a single-attempt kind), 410 Gone, a disabled target, a call its kind stopped, or a request that cannot be opened. `delivery` is the attempt.',
  },
  ATTEMPT_GAVE_UP: { description: 'The last attempt of the whole retry schedule failed: the call is given up (replayDelivery or recoverDeliveries can send it again). `delivery` is the attempt.' },
  TARGET_OPENED: { description: "A target's circuit opened (DELIVERY_CIRCUIT_FAILURES failures in a row, or its probe failed): its calls wait until `target.openUntil`. `target` is the target." },
  TARGET_CLOSED: { description: "A target's circuit closed (a probe or a replay succeeded, or an admin closed it): its calls go out again. `target` is the target." },
  TARGET_DISABLED: { description: 'A target was disabled (failing without a success for DELIVERY_DISABLE_AFTER_HOURS): its calls fail unsent until an admin re-enables it. `target` is the target.' },
  TARGET_REENABLED: { description: 'An admin re-enabled a disabled target (reenableDeliveryTarget). `target` is the target.' },
};

const DeliveryEventKindEnum = builder.enumType('DeliveryEventKind', {
  description: 'What a delivery event reports: an attempt (ATTEMPT_*, with `delivery`) or a change of a target\'s health (TARGET_*, with `target`).',
  values: EVENT_KIND_TEXT,
});

const DeliveryEventTargetRef = builder.objectRef<DeliveryEventTargetView>('DeliveryEventTarget').implement({
  description: "A delivery target (an integration's queued calls on a channel, a Rocket.Chat integration's URL, a custom channel connection) as it is after a change of its health.",
  fields: (t) => ({
    kind: t.exposeString('kind', { description: 'The kind of its calls: output, outgoing_webhook, custom_channel ...' }),
    channelId: t.exposeID('channelId', { nullable: true, description: 'The channel its calls are made for (the same as `DeliveryEvent.channelId`).' }),
    integrationId: t.exposeID('targetId', {
      nullable: true,
      description: 'The integration (or Rocket.Chat integration, custom channel connection) its calls are made for: `Delivery.targetId`, and `integrationId` of reenableDeliveryTarget and recoverDeliveries.',
    }),
    url: t.exposeString('url', { description: 'The URL its calls go to (of the call that first failed, for targets that are one integration on one channel).' }),
    state: t.field({ type: DeliveryTargetStateEnum, description: 'The circuit after the change: CLOSED, OPEN, HALF_OPEN or DISABLED.', resolve: (x) => x.state.toUpperCase() as never }),
    consecutiveFailures: t.exposeInt('consecutiveFailures', { description: 'Failed attempts since the last success (0 once closed or re-enabled).' }),
    openUntil: t.expose('openUntil', { type: 'DateTime', nullable: true, description: 'While OPEN: when the probe call is made.' }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Why its last failed attempt failed.' }),
    disabledReason: t.exposeString('disabledReason', { nullable: true, description: 'While DISABLED: why (since when it failed, and its last error).' }),
  }),
});

const DeliveryEventRef = builder.objectRef<DeliveryEventView>('DeliveryEvent').implement({
  description:
    "Something that happened to an organisation's outbound calls, live: an attempt recorded (ATTEMPT_*, with `delivery`) or a target's circuit changing (TARGET_*, with `target`). Each attempt is already in `Channel.deliveries` when its event arrives.",
  fields: (t) => ({
    kind: t.field({ type: DeliveryEventKindEnum, description: 'What happened.', resolve: (e) => e.kind }),
    at: t.expose('at', { type: 'DateTime', description: 'When the attempt was recorded, or the target changed.' }),
    organisationId: t.exposeID('organisationId', { description: 'The organisation the call or target belongs to.' }),
    channelId: t.exposeID('channelId', { nullable: true, description: 'The channel of the call or target; null for calls outside a channel.' }),
    delivery: t.field({
      type: DeliveryRef,
      nullable: true,
      description: 'ATTEMPT_* events: the attempt as recorded (its status, statusCode, latencyMs, error; `replayOf` for a replay), without its answer (`response` is null). Null for TARGET_* events.',
      resolve: (e) => e.delivery,
    }),
    target: t.field({ type: DeliveryEventTargetRef, nullable: true, description: 'TARGET_* events: the target after the change. Null for ATTEMPT_* events.', resolve: (e) => e.target }),
    retryAt: t.expose('retryAt', {
      type: 'DateTime',
      nullable: true,
      description: 'ATTEMPT_RETRIED: when the next attempt is due (later while the circuit is open). Null for other events.',
    }),
  }),
});

builder.subscriptionField('deliveryEvents', (t) =>
  t.field({
    type: DeliveryEventRef,
    description: `An organisation's delivery events from now on: every attempt of its queued calls (outputs, Rocket.Chat outgoing calls, custom channels), replays included, as it is recorded, and every change of a target's circuit (opened, closed, disabled, re-enabled), whichever replica made it. Members of the organisation may subscribe, as they may read \`Channel.deliveries\`; another organisation is NotFound. Removing the member or revoking the token ends it (ACCESS_REVOKED). Live only: events from before the subscription, or while disconnected, are not replayed; the history is \`Channel.deliveries\`. Synchronous calls (modifiers, ticks, slash commands) are in the history only. A subscriber that lets more than DELIVERY_EVENTS_BACKLOG events (default 1000) wait unread receives them, then a CONFLICT error, and the stream ends.`,
    authScopes: { authenticated: true },
    args: {
      organisationId: t.arg.id({ required: true, description: 'The organisation (you must be a member).' }),
      channelId: t.arg.id({ description: "Only this channel's events (a channel of the organisation). Default: every channel's, and calls outside a channel." }),
    },
    subscribe: (_r, args, ctx) => deliveryEventStream(ctx, String(args.organisationId), args.channelId == null ? null : String(args.channelId)),
    resolve: (e) => {
      if (e instanceof Error) throw e;
      return e;
    },
  }),
);
