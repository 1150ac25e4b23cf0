/**
 * Management of Rocket.Chat-compatible webhook integrations (integrations.create|list|get|update|remove|history).
 *
 * - The caller is a Switchboard access token (X-Auth-Token) and its user's id (X-User-Id): rocketChatViewer.
 * - Rocket.Chat's permissions map onto organisation roles: admins and owners hold manage-incoming-integrations and
 *   manage-outgoing-integrations (every integration of the organisation); members hold
 *   manage-own-incoming-integrations and manage-own-outgoing-integrations (only those they created).
 * - `channel` names `#name` channels of one organisation. The organisation is the one named by the
 *   X-Organisation-Id header, else the caller's only organisation, else the one organisation whose
 *   channels carry every name given (ambiguous -> 400 asking for the header).
 *
 * Memberships, roles and channels come from the organisations and channels services. What these functions return
 * is the integration with what Rocket.Chat's JSON shows of it (its users' names, the masked outgoing token); the
 * JSON itself is the door's (rocketchat.shapes.ts). The GraphQL door (rocketchat.graphql.ts) reaches the same rules
 * through the typed entry points at the end of this file, which hand Rocket.Chat's body to the same parser.
 */
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import type { Deps, Scope, WorkScope } from '../../context.js';
import type { HookEvents } from '../../infra/hooks.js';
import { ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../../errors.js';
import { decryptSecret, encryptSecret, hashToken, maskSecret, safeEqual } from '../../infra/crypto.js';
import { authenticate, isUuid, requireViewer } from '../auth/auth.service.js';
import type { User } from '../auth/user.entity.js';
import { findChannelsByName } from '../channels/channels.service.js';
import type { Role } from '../organisations/membership.entity.js';
import { listMyMemberships, viewerRole } from '../organisations/organisations.service.js';
import { channelNames } from './channel-scope.js';
import { forgetIncoming } from './incoming.service.js';
import { checkType, InvalidChannelError, parseFields, str, type Body, type Fields } from './integration-fields.js';
import { DELIVERY_KIND, forgetOutgoing } from './outgoing.service.js';
import { recordHistory } from './posting.service.js';
import { Membership } from '../organisations/membership.entity.js';
import { recoverTarget, reenableTarget, replayDelivery, targetHealth } from '../deliveries/deliveries.service.js';
import { idPage, PAGE_MAX, pageOptions, type PageArgs } from '../../pagination.js';
import { requireMembership } from '../organisations/organisations.service.js';
import { forgetStore, liftSuspension } from './scripts.service.js';
import { WEBHOOK_TYPES, WebhookIntegration, WebhookIntegrationHistory, type WebhookType } from './webhook-integration.entity.js';

// ---------------------------------------------------------------------------------------------------
// Authentication and permissions

/**
 * The caller of Rocket.Chat's API: the user behind X-Auth-Token, who must be the user named by X-User-Id
 * (the door opens the scope with both; openScope leaves the viewer null unless they agree).
 */
export function rocketChatViewer(scope: Scope): User {
  if (!scope.viewer) throw new UnauthenticatedError('You must be logged in to do this.');
  return scope.viewer;
}

type Direction = 'incoming' | 'outgoing';
const directionOf = (type: WebhookType): Direction => (type === 'webhook-incoming' ? 'incoming' : 'outgoing');

/** Rocket.Chat's permission names held by an organisation role, for one direction. */
export function permissionsFor(role: Role, direction: Direction): string[] {
  const own = `manage-own-${direction}-integrations`;
  return role === 'member' ? [own] : [`manage-${direction}-integrations`, own];
}

function forbidden(): never {
  throw new ForbiddenError('User does not have the permissions required for this action [error-unauthorized]');
}

/** The users Rocket.Chat's JSON names (creator, last updater): loaded with the integrations, in the same query. */
const WITH_USERS = ['createdBy', 'updatedBy'] as const;

/** The integration, if the viewer may manage it: admins every one of their organisation, members their own. */
async function requireManageable(scope: Scope, id: unknown, type?: unknown): Promise<WebhookIntegration> {
  const viewer = requireViewer(scope);
  const integrationId = typeof id === 'string' ? id : '';
  const integration = isUuid(integrationId) ? await scope.em.findOne(WebhookIntegration, { id: integrationId }, { populate: WITH_USERS }) : null;
  const role = integration ? await viewerRole(scope, integration.organisation.id) : null;
  if (!integration || !role || (type !== undefined && type !== integration.type)) throw new NotFoundError('integration', integrationId || undefined);
  const all = permissionsFor(role, directionOf(integration.type)).includes(`manage-${directionOf(integration.type)}-integrations`);
  if (!all && integration.createdBy?.id !== viewer.id) forbidden();
  return integration;
}

/**
 * The organisation whose channels the names refer to (see the module comment): always one the viewer belongs to,
 * and every member may create integrations there (members hold the manage-own-* permissions).
 */
async function chooseOrganisation(scope: Scope, channels: string[], organisationHint: string | undefined): Promise<string> {
  const memberships = await listMyMemberships(scope);
  let orgIds = memberships.map((m) => m.organisation.id);
  if (organisationHint) {
    if (!orgIds.includes(organisationHint)) throw new NotFoundError('organisation', organisationHint);
    orgIds = [organisationHint];
  }
  if (!orgIds.length) throw new InvalidChannelError('You belong to no organisation, so no channel can be named [error-invalid-channel]');
  const names = channelNames(channels);
  if (!names.length) {
    if (orgIds.length === 1) return orgIds[0];
    throw new InvalidChannelError('You belong to several organisations: send X-Organisation-Id to say which one the integration belongs to [error-invalid-channel]');
  }
  const found = await findChannelsByName(scope, orgIds, names);
  const complete = orgIds.filter((org) => names.every((n) => found.some((c) => c.organisation.id === org && c.name === n)));
  if (complete.length === 1) return complete[0];
  if (complete.length > 1) {
    throw new InvalidChannelError('These channel names exist in several of your organisations: send X-Organisation-Id to choose one [error-invalid-channel]');
  }
  const missing = names.find((n) => !found.some((c) => c.name === n)) ?? names[0];
  throw new InvalidChannelError(`Invalid Channel "#${missing}" [error-invalid-channel]`);
}

async function checkChannelsExist(scope: Scope, organisationId: string, channels: string[]) {
  const names = channelNames(channels);
  if (!names.length) return;
  const found = await findChannelsByName(scope, [organisationId], names);
  const missing = names.find((n) => !found.some((c) => c.name === n));
  if (missing) throw new InvalidChannelError(`Invalid Channel "#${missing}" [error-invalid-channel]`);
}

function newIncomingToken() {
  return randomBytes(36).toString('base64url');
}

// ---------------------------------------------------------------------------------------------------
// Management

/** An integration with what Rocket.Chat's JSON shows of it besides its columns. */
export interface ManagedIntegration {
  integration: WebhookIntegration;
  /** The incoming token, only right after it was created. */
  token?: string;
  /** An outgoing integration's token, masked; null when it has none (and for incoming ones). */
  maskedOutgoingToken: string | null;
  /** Who created it and who changed it last (null when not recorded, or the user is gone), with their names. */
  createdBy: { id: string; name: string | null } | null;
  updatedBy: { id: string; name: string | null } | null;
}

const userRef = (user: User | null | undefined) => (user ? { id: user.id, name: user.name ?? null } : null);

/**
 * The integrations with their users, loaded together: those not loaded yet in one query per relation, whatever the
 * number of integrations (a page loaded WITH_USERS needs none).
 */
async function managed(scope: Pick<Scope, 'em' | 'deps'>, integrations: WebhookIntegration[], token?: string): Promise<ManagedIntegration[]> {
  await scope.em.populate(integrations, WITH_USERS);
  return integrations.map((integration) => ({
    integration,
    ...(token ? { token } : {}),
    maskedOutgoingToken: maskedOutgoingToken(scope.deps, integration),
    createdBy: userRef(integration.createdBy),
    updatedBy: userRef(integration.updatedBy),
  }));
}

function maskedOutgoingToken(deps: Deps, integration: WebhookIntegration) {
  if (integration.type !== 'webhook-outgoing' || !integration.outgoingToken) return null;
  return maskSecret(decryptSecret(deps.config.secretKey, integration.outgoingToken));
}

const one = async (scope: Scope, integration: WebhookIntegration, token?: string) => (await managed(scope, [integration], token))[0];

/** The columns both integration types take from the parsed body (create and update alike). */
function commonColumns(fields: Fields) {
  const { name, enabled, username, channels, alias, avatar, emoji, scriptEnabled, script } = fields;
  return { name, enabled, username, channels, alias, avatar, emoji, scriptEnabled, script };
}

/** The columns only outgoing integrations take from the parsed body. */
function outgoingColumns(fields: Fields) {
  const { event, urls, triggerWords, triggerWordAnywhere, retryFailedCalls, retryCount, retryDelay } = fields;
  return { event, urls, triggerWords, triggerWordAnywhere, retryFailedCalls, retryCount, retryDelay };
}

export async function createWebhookIntegration(scope: Scope, body: unknown, organisationHint?: string): Promise<ManagedIntegration> {
  const viewer = requireViewer(scope);
  const fields = await parseFields(body, null);
  const organisationId = await chooseOrganisation(scope, fields.channels, organisationHint);
  const token = fields.type === 'webhook-incoming' ? newIncomingToken() : undefined;
  const integration = scope.em.create(WebhookIntegration, {
    organisation: organisationId,
    type: fields.type,
    ...commonColumns(fields),
    tokenHash: token ? hashToken(token) : null,
    outgoingToken: fields.token ? encryptSecret(scope.deps.config.secretKey, fields.token) : null,
    ...outgoingColumns(fields),
    createdBy: viewer,
    updatedBy: null,
  });
  await scope.em.flush();
  forgetOutgoing(scope.deps);
  return one(scope, integration, token);
}

export async function updateWebhookIntegration(scope: Scope, body: unknown): Promise<ManagedIntegration> {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Body;
  const type = str(b, 'type', true);
  const id = str(b, 'integrationId', true);
  return applyUpdate(scope, await requireManageable(scope, id, type), body);
}

/** Change an integration the viewer may manage: the body's fields (Rocket.Chat's), absent ones kept. */
async function applyUpdate(scope: Scope, integration: WebhookIntegration, body: unknown): Promise<ManagedIntegration> {
  const fields = await parseFields(body, integration);
  await checkChannelsExist(scope, integration.organisation.id, fields.channels);
  // An integration whose creator has left the organisation is handed to the admin who changes it (it runs, as in
  // Rocket.Chat, as its creator's: someone in the organisation must answer for it).
  const orphaned = integration.createdBy && !(await scope.em.count(Membership, { organisation: integration.organisation, user: integration.createdBy }));
  if (orphaned || !integration.createdBy) integration.createdBy = scope.viewer;
  Object.assign(integration, { ...commonColumns(fields), updatedBy: scope.viewer });
  if (integration.type === 'webhook-outgoing') {
    Object.assign(integration, outgoingColumns(fields));
    if (fields.token !== undefined) integration.outgoingToken = fields.token ? encryptSecret(scope.deps.config.secretKey, fields.token) : null;
  }
  await scope.em.flush();
  forgetOutgoing(scope.deps);
  forgetIncoming(scope.deps, integration.id);
  liftSuspension(scope.deps, integration.id);
  forgetStore(scope.deps, integration.id);
  return one(scope, integration);
}

export async function removeWebhookIntegration(scope: Scope, body: unknown): Promise<ManagedIntegration> {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Body;
  const type = str(b, 'type', true);
  checkType(type);
  const id = str(b, 'integrationId', true);
  return removeManaged(scope, await requireManageable(scope, id, type));
}

async function removeManaged(scope: Scope, integration: WebhookIntegration): Promise<ManagedIntegration> {
  const removed = await one(scope, integration);
  await scope.em.remove(integration).flush();
  forgetOutgoing(scope.deps);
  forgetIncoming(scope.deps, integration.id);
  forgetStore(scope.deps, integration.id);
  return removed;
}

export async function getWebhookIntegration(scope: Scope, integrationId: unknown): Promise<ManagedIntegration> {
  if (integrationId === undefined || integrationId === '') throw new ValidationError('integrationId', `The query parameter "integrationId" is required.`);
  return one(scope, await requireManageable(scope, integrationId));
}

function pageArgs(offsetValue: unknown, countValue: unknown) {
  const offset = offsetValue === undefined ? 0 : Number(offsetValue);
  const count = countValue === undefined ? 50 : Number(countValue);
  if (!Number.isInteger(offset) || offset < 0) throw new ValidationError('offset', 'offset must be a non-negative integer');
  if (!Number.isInteger(count) || count < 0 || count > 100) throw new ValidationError('count', 'count must be an integer from 0 to 100');
  return { offset, count };
}

/**
 * Integrations the viewer may manage, across their organisations, newest first. A page costs the same few queries
 * whatever its size: the viewer's memberships, the page with its users (joined), and the count.
 */
export async function listWebhookIntegrations(scope: Scope, query: { offset?: unknown; count?: unknown; name?: unknown; type?: unknown }) {
  const viewer = requireViewer(scope);
  const { offset, count } = pageArgs(query.offset, query.count);
  if (query.type !== undefined && !(WEBHOOK_TYPES as readonly string[]).includes(String(query.type))) {
    throw new ValidationError('type', `type must be one of ${WEBHOOK_TYPES.join(', ')}`);
  }
  const memberships = await listMyMemberships(scope);
  const admin = memberships.filter((m) => m.role !== 'member').map((m) => m.organisation.id);
  const member = memberships.filter((m) => m.role === 'member').map((m) => m.organisation.id);
  const where = {
    $or: [{ organisation: { $in: admin } }, { organisation: { $in: member }, createdBy: viewer }],
    ...(query.type ? { type: String(query.type) as WebhookType } : {}),
    ...(typeof query.name === 'string' && query.name ? { name: { $like: `%${query.name.replace(/[%_\\]/g, (c) => `\\${c}`)}%` } } : {}),
  };
  if (!admin.length && !member.length) return { integrations: [], offset, total: 0 };
  const rows = await scope.em.find(WebhookIntegration, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: count, offset, populate: WITH_USERS });
  const total = await scope.em.count(WebhookIntegration, where);
  return { integrations: await managed(scope, rows), offset, total };
}

export async function webhookIntegrationHistory(scope: Scope, query: { id?: unknown; offset?: unknown; count?: unknown }) {
  if (query.id === undefined || query.id === '') throw new ValidationError('id', 'The query parameter "id" is required.');
  const integration = await requireManageable(scope, query.id);
  const { offset, count } = pageArgs(query.offset, query.count);
  const [history, total] = await scope.em.findAndCount(WebhookIntegrationHistory, { integration }, { orderBy: { id: 'desc' }, limit: count, offset });
  return { history, offset, total };
}

// ---------------------------------------------------------------------------------------------------
// Members who leave

/**
 * A member removed from an organisation: the Rocket.Chat integrations they created there are disabled (as Rocket.Chat
 * runs them as their creator's user, and the creator no longer belongs), each with a history run saying why, and the
 * outgoing calls still waiting to be retried are given up. An admin re-enables one with integrations.update
 * (`enabled: true`) and so takes it over (it becomes theirs: createdBy).
 */
async function disableIntegrationsOfRemovedMember(ctx: WorkScope, { organisationId, userId }: HookEvents['member.removed']) {
  const integrations = await ctx.em.find(WebhookIntegration, { organisation: organisationId, createdBy: userId, enabled: true });
  if (!integrations.length) return;
  for (const integration of integrations) integration.enabled = false;
  await ctx.em.flush();
  forgetOutgoing(ctx.deps);
  for (const integration of integrations) forgetIncoming(ctx.deps, integration.id);
  const reason = 'Disabled because its creator was removed from the organisation; an admin re-enables it with integrations.update (enabled: true) and takes it over';
  for (const integration of integrations) {
    await recordHistory(ctx.em, { id: integration.id, type: integration.type, organisationId }, { step: 'disabled', finished: true, error: true, errorMessage: reason });
  }
  const outgoing = integrations.filter((i) => i.type === 'webhook-outgoing').map((i) => i.id);
  await ctx.deps.deliveries.abandonPending(ctx.em, DELIVERY_KIND, outgoing, 'integration disabled: its creator was removed from the organisation');
}

/** Wire the reaction to removed members; returns the unsubscribe function. Failures are logged, never thrown to the remover. */
export function startMemberRemovalHandling(root: { em: EntityManager }, deps: Deps): () => void {
  return deps.hooks.on('member.removed', async (event) => {
    try {
      await disableIntegrationsOfRemovedMember({ em: root.em.fork(), deps }, event);
    } catch (error) {
      deps.logger.error({ err: error, organisationId: event.organisationId }, 'could not disable the integrations of a removed member');
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// Replay and recovery of outgoing calls

/** An outgoing integration whose calls the caller may send again: one they may manage, as an admin or owner. */
async function requireReplayable(scope: Scope, id: unknown) {
  const integration = await requireManageable(scope, id);
  await requireMembership(scope, integration.organisation.id, 'admin');
  if (integration.type !== 'webhook-outgoing') throw new ValidationError('integrationId', 'only outgoing integrations make calls that can be sent again');
  return integration;
}

/**
 * integrations.replay: send the HTTP call of one history run again (admins and owners), as replayDelivery does;
 * answers the replay's own run (`replayOf` names the run it repeats).
 */
export async function replayWebhookIntegrationRun(scope: Scope, body: unknown) {
  const fields = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  if (typeof fields.integrationId !== 'string' || !fields.integrationId) throw new ValidationError('integrationId', 'The parameter "integrationId" is required.');
  if (typeof fields.historyId !== 'string' || !fields.historyId) throw new ValidationError('historyId', 'The parameter "historyId" is required.');
  const integration = await requireReplayable(scope, fields.integrationId);
  const run = await scope.em.findOne(WebhookIntegrationHistory, { id: fields.historyId, integration });
  if (!run) throw new NotFoundError('history', fields.historyId);
  if (!run.deliveryId) throw new ValidationError('historyId', 'this run made no HTTP call (its script answered or failed before it), so there is nothing to send again');
  const delivery = await replayDelivery(scope, { deliveryId: run.deliveryId });
  return scope.em.fork().findOneOrFail(WebhookIntegrationHistory, { integration, deliveryId: delivery.id });
}

/** integrations.recover: send again every outgoing call of the integration (all its URLs and channels) that failed since `since`. */
export async function recoverWebhookIntegration(scope: Scope, body: unknown) {
  const fields = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  if (typeof fields.integrationId !== 'string' || !fields.integrationId) throw new ValidationError('integrationId', 'The parameter "integrationId" is required.');
  const since = typeof fields.since === 'string' ? new Date(fields.since) : null;
  if (!since || Number.isNaN(since.getTime())) throw new ValidationError('since', 'The parameter "since" must be an ISO-8601 date and time.');
  return recoverWebhookIntegrationSince(scope, { integrationId: fields.integrationId, since });
}

/** The same, typed: the new runs (one per call sent again, oldest first) and how many failed calls are left. */
export async function recoverWebhookIntegrationSince(scope: Scope, input: { integrationId: string; since: Date }) {
  const integration = await requireReplayable(scope, input.integrationId);
  const { deliveries, remaining } = await recoverTarget(scope, { organisationId: integration.organisation.id, channelId: null, targetId: integration.id, since: input.since });
  const history = deliveries.length
    ? await scope.em.fork().find(WebhookIntegrationHistory, { integration, deliveryId: { $in: deliveries.map((d) => d.id) } }, { orderBy: { id: 'asc' } })
    : [];
  return { history, remaining };
}

// ---------------------------------------------------------------------------------------------------
// Typed entry points (the GraphQL door): the same rules, with typed fields instead of Rocket.Chat's body

/**
 * An integration's fields as a typed caller gives them: Rocket.Chat's body fields, with `channels` for its `channel`.
 * On update an absent field keeps its value; null clears alias, avatar, emoji, script, token and triggerWords, and keeps
 * the fields that cannot be empty.
 */
export interface WebhookIntegrationInput {
  name?: string | null;
  enabled?: boolean | null;
  username?: string | null;
  channels?: string[] | null;
  alias?: string | null;
  avatar?: string | null;
  emoji?: string | null;
  scriptEnabled?: boolean | null;
  script?: string | null;
  event?: string | null;
  urls?: string[] | null;
  triggerWords?: string[] | null;
  triggerWordAnywhere?: boolean | null;
  token?: string | null;
  retryFailedCalls?: boolean | null;
  retryCount?: number | null;
  retryDelay?: string | null;
}

/** The fields whose null clears them (parseFields reads null as "none" for these only). */
const CLEARABLE = new Set(['alias', 'avatar', 'emoji', 'script', 'token', 'triggerWords']);

/** Rocket.Chat's body for typed fields: `channels` as `channel`; absent fields, and nulls that cannot clear, left out. */
function toBody(input: WebhookIntegrationInput, extra: Body = {}): Body {
  const body: Body = { ...extra };
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined || (value === null && !CLEARABLE.has(key))) continue;
    body[key === 'channels' ? 'channel' : key] = value;
  }
  return body;
}

/** Errors named by the typed input's fields: Rocket.Chat's `channel` is `channels` there (the others keep their names). */
async function namedForInput<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ValidationError && error.field === 'channel') {
      throw error instanceof InvalidChannelError ? new InvalidChannelError(error.message, 'channels') : new ValidationError('channels', error.message);
    }
    throw error;
  }
}

/** Create an integration in an organisation the viewer belongs to (any member may; it is theirs). */
export function createWebhookIntegrationIn(scope: Scope, organisationId: string, type: WebhookType, input: WebhookIntegrationInput): Promise<ManagedIntegration> {
  return namedForInput(() => createWebhookIntegration(scope, toBody(input, { type, scriptEnabled: input.scriptEnabled ?? false, enabled: input.enabled ?? true }), organisationId));
}

/** Change an integration the viewer may manage (admins and owners: any of the organisation's; members: their own). */
export function updateWebhookIntegrationById(scope: Scope, id: string, input: WebhookIntegrationInput): Promise<ManagedIntegration> {
  return namedForInput(async () => applyUpdate(scope, await requireManageable(scope, id), toBody(input)));
}

/** Remove an integration the viewer may manage; answers it as it was. */
export async function removeWebhookIntegrationById(scope: Scope, id: string): Promise<ManagedIntegration> {
  return removeManaged(scope, await requireManageable(scope, id));
}

/**
 * One integration the viewer may manage; null when it does not exist or is of an organisation they are not a member
 * of. A member asking for another's integration is refused (ForbiddenError), as integrations.get refuses it.
 */
export async function findWebhookIntegration(scope: Scope, id: string): Promise<ManagedIntegration | null> {
  try {
    return one(scope, await requireManageable(scope, id));
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
}

/**
 * A Relay page of an organisation's integrations the viewer may manage (admins and owners: all; members: their own),
 * newest first, optionally of one type. The page and its users cost the same queries whatever its size.
 */
export async function listOrganisationWebhookIntegrations(scope: Scope, organisationId: string, args: PageArgs & { type?: WebhookType | null }) {
  const viewer = requireViewer(scope);
  const role = await viewerRole(scope, organisationId);
  if (!role) throw new NotFoundError('organisation', organisationId);
  const where = { organisation: organisationId, ...(role === 'member' ? { createdBy: viewer } : {}), ...(args.type ? { type: args.type } : {}) };
  const cursor = await scope.em.findByCursor(WebhookIntegration, where, { ...pageOptions(args), orderBy: { createdAt: 'desc', id: 'desc' }, includeCount: true, populate: WITH_USERS });
  return { cursor, integrations: await managed(scope, cursor.items) };
}

/** An integration's runs (integrations.history), newest first, as a Relay page whose cursors are the runs' ids. */
export async function integrationRuns(scope: Pick<Scope, 'em'>, managed: ManagedIntegration, args: PageArgs) {
  const where = { integration: managed.integration.id };
  return idPage(
    args,
    'desc',
    (range, order, limit) => scope.em.find(WebhookIntegrationHistory, { ...where, ...(Object.keys(range).length ? { id: range } : {}) }, { orderBy: { id: order }, limit }),
    { fallback: PAGE_MAX, cursorName: 'a run id' },
  );
}

/** The delivery target of an outgoing integration's calls to one url: each url has its own circuit. */
const urlTargetKey = (deps: Deps, integration: WebhookIntegration, url: string) => deps.deliveries.healthKey({ kind: DELIVERY_KIND, targetId: integration.id, channel: null, url });

/** The health of the calls of an outgoing integration to one url. */
async function urlHealth(scope: Pick<Scope, 'em' | 'deps'>, integration: WebhookIntegration, url: string) {
  const health = await targetHealth(scope.em, urlTargetKey(scope.deps, integration, url), {
    organisationId: integration.organisation.id,
    channelId: null,
    targetId: integration.id,
    kinds: [DELIVERY_KIND],
    url,
  });
  return { url, health };
}

/**
 * An outgoing integration's endpoint health, one entry per url in `urls` order; null for an incoming integration,
 * which calls nothing.
 */
export async function outgoingUrlHealth(scope: Pick<Scope, 'em' | 'deps'>, managed: ManagedIntegration) {
  const i = managed.integration;
  if (i.type !== 'webhook-outgoing') return null;
  const health = [];
  for (const url of i.urls) health.push(await urlHealth(scope, i, url));
  return health;
}

/**
 * Re-enable an outgoing integration's calls to one url after they were disabled (or close its open circuit now):
 * admins and owners, as for recovery. The url is one of `urls`, or one a prepare script sent its calls to; the calls
 * that failed meanwhile stay failed (recoverWebhookIntegrationSince sends them again).
 */
export async function reenableWebhookIntegrationUrl(scope: Scope, input: { integrationId: string; url: string }) {
  const integration = await requireReplayable(scope, input.integrationId);
  if (!input.url || input.url.length > 2_048) throw new ValidationError('url', 'url must be a url the integration calls (one of its urls), at most 2048 characters');
  await reenableTarget(scope, urlTargetKey(scope.deps, integration, input.url));
  return urlHealth(scope, integration, input.url);
}

/** The URL an incoming integration is posted to, with its token: only right after it was created (null otherwise). */
export function incomingHookUrl(deps: Pick<Deps, 'config'>, managed: ManagedIntegration): string | null {
  return managed.token ? `${deps.config.publicUrl}/hooks/${managed.integration.id}/${managed.token}` : null;
}
