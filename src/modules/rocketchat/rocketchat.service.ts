/**
 * Rocket.Chat-compatible webhook integrations of an organisation.
 *
 * - Management (integrations.create|list|get|update|remove|history) authenticates with a Switchboard
 *   access token (X-Auth-Token) and its user's id (X-User-Id). Rocket.Chat's permissions map onto
 *   organisation roles: admins and owners hold manage-incoming-integrations and
 *   manage-outgoing-integrations (every integration of the organisation); members hold
 *   manage-own-incoming-integrations and manage-own-outgoing-integrations (only those they created).
 * - `channel` names `#name` channels of one organisation. The organisation is the one named by the
 *   X-Organisation-Id header, else the caller's only organisation, else the one organisation whose
 *   channels carry every name given (ambiguous -> 400 asking for the header).
 * - Incoming: `/hooks/{id}/{token}` posts through the normal message path (postMessage), with Rocket.Chat's
 *   message model (message-content.ts: alias, avatar or emoji, attachments, trimmed text). A call that
 *   names another channel than the integration's own is refused, as Rocket.Chat does without
 *   overrideDestinationChannelEnabled.
 * - Outgoing: reacts to 'message.created' (sendMessage) and 'channel.created' (roomCreated); each URL
 *   call is a Delivery (kind `rocketchat-outgoing`) whose retry delays follow Rocket.Chat's
 *   retryFailedCalls / retryCount / retryDelay. A JSON answer with `text` or `attachments` is posted back. Messages an
 *   outgoing integration posts (source `rocketchat-outgoing`) never trigger outgoing integrations.
 * - Scripts run in the isolated-vm sandbox (script-sandbox.ts) with Rocket.Chat's globals; their Store
 *   lives in the app's runtime (runtime.ts), their HTTP calls go through deps.http (script-http.ts);
 *   failures and HTTP calls land in the history.
 */
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import type { Deps, Scope } from '../../context.js';
import { ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../../errors.js';
import { decryptSecret, encryptSecret, hashToken, maskSecret, safeEqual } from '../../infra/crypto.js';
import { authenticate, isUuid } from '../auth/auth.service.js';
import { User } from '../auth/user.entity.js';
import { Channel } from '../channels/channel.entity.js';
import { Membership, type Role } from '../organisations/membership.entity.js';
import { forgetIncoming } from './incoming.service.js';
import { InvalidChannelError, parseFields, str, type Body, type Fields } from './integration-fields.js';
import { forgetOutgoing } from './outgoing.service.js';
import { forgetStore, liftSuspension } from './scripts.service.js';
import { WEBHOOK_TYPES, WebhookIntegration, WebhookIntegrationHistory, type WebhookType } from './webhook-integration.entity.js';

export const SCRIPT_ENGINE = 'isolated-vm';

// ---------------------------------------------------------------------------------------------------
// Authentication and permissions

/** The user behind X-Auth-Token, who must be the user named by X-User-Id. */
export async function rocketChatViewer(em: EntityManager, token: string | undefined, userId: string | undefined): Promise<User> {
  if (!token || !userId) throw new UnauthenticatedError('You must be logged in to do this.');
  const user = await authenticate(em, token);
  if (!user || !safeEqual(user.id, userId)) throw new UnauthenticatedError('You must be logged in to do this.');
  return user;
}

type Direction = 'incoming' | 'outgoing';
const directionOf = (type: WebhookType): Direction => (type === 'webhook-incoming' ? 'incoming' : 'outgoing');

/** Rocket.Chat's permission names held by an organisation role, for one direction. */
export function permissionsFor(role: Role, direction: Direction): string[] {
  const own = `manage-own-${direction}-integrations`;
  return role === 'member' ? [own] : [`manage-${direction}-integrations`, own];
}

function requireViewer(scope: Scope): User {
  if (!scope.viewer) throw new UnauthenticatedError('You must be logged in to do this.');
  return scope.viewer;
}

async function viewerMemberships(scope: Scope) {
  const viewer = requireViewer(scope);
  return scope.em.find(Membership, { user: viewer }, { orderBy: { createdAt: 'asc' } });
}

function forbidden(): never {
  throw new ForbiddenError('User does not have the permissions required for this action [error-unauthorized]');
}

/** The integration, if the viewer may manage it: admins every one of their organisation, members their own. */
async function requireManageable(scope: Scope, id: unknown, type?: unknown): Promise<WebhookIntegration> {
  const viewer = requireViewer(scope);
  const integrationId = typeof id === 'string' ? id : '';
  const integration = isUuid(integrationId) ? await scope.em.findOne(WebhookIntegration, { id: integrationId }) : null;
  const membership = integration ? await scope.em.findOne(Membership, { organisation: integration.organisation, user: viewer }) : null;
  if (!integration || !membership || (type !== undefined && type !== integration.type)) throw new NotFoundError('integration', integrationId || undefined);
  const all = permissionsFor(membership.role, directionOf(integration.type)).includes(`manage-${directionOf(integration.type)}-integrations`);
  if (!all && integration.createdBy?.id !== viewer.id) forbidden();
  return integration;
}

/** The organisation whose channels the names refer to (see the module comment). */
async function chooseOrganisation(scope: Scope, channels: string[], organisationHint: string | undefined): Promise<string> {
  const memberships = await viewerMemberships(scope);
  let orgIds = memberships.map((m) => m.organisation.id);
  if (organisationHint) {
    if (!orgIds.includes(organisationHint)) throw new NotFoundError('organisation', organisationHint);
    orgIds = [organisationHint];
  }
  if (!orgIds.length) throw new InvalidChannelError('You belong to no organisation, so no channel can be named [error-invalid-channel]');
  const names = channels.filter((c) => c.startsWith('#')).map((c) => c.slice(1));
  if (!names.length) {
    if (orgIds.length === 1) return orgIds[0];
    throw new InvalidChannelError('You belong to several organisations: send X-Organisation-Id to say which one the integration belongs to [error-invalid-channel]');
  }
  const found = await scope.em.find(Channel, { organisation: { $in: orgIds }, name: { $in: names } }, { fields: ['name', 'organisation'] });
  const complete = orgIds.filter((org) => names.every((n) => found.some((c) => c.organisation.id === org && c.name === n)));
  if (complete.length === 1) return complete[0];
  if (complete.length > 1) {
    throw new InvalidChannelError('These channel names exist in several of your organisations: send X-Organisation-Id to choose one [error-invalid-channel]');
  }
  const missing = names.find((n) => !found.some((c) => c.name === n)) ?? names[0];
  throw new InvalidChannelError(`Invalid Channel "#${missing}" [error-invalid-channel]`);
}

async function checkChannelsExist(em: EntityManager, organisationId: string, channels: string[]) {
  const names = channels.filter((c) => c.startsWith('#')).map((c) => c.slice(1));
  if (!names.length) return;
  const found = await em.find(Channel, { organisation: organisationId, name: { $in: names } }, { fields: ['name'] });
  const missing = names.find((n) => !found.some((c) => c.name === n));
  if (missing) throw new InvalidChannelError(`Invalid Channel "#${missing}" [error-invalid-channel]`);
}

async function requireRole(scope: Scope, organisationId: string, type: WebhookType) {
  const viewer = requireViewer(scope);
  const membership = await scope.em.findOne(Membership, { organisation: organisationId, user: viewer });
  if (!membership) throw new NotFoundError('organisation', organisationId);
  return permissionsFor(membership.role, directionOf(type));
}

function newIncomingToken() {
  return randomBytes(36).toString('base64url');
}

// ---------------------------------------------------------------------------------------------------
// Management

export interface Shaped {
  integration: WebhookIntegration;
  /** The incoming token, only right after it was created. */
  token?: string;
}

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

export async function createWebhookIntegration(scope: Scope, body: unknown, organisationHint?: string): Promise<Shaped> {
  const viewer = requireViewer(scope);
  const fields = await parseFields(body, null);
  const organisationId = await chooseOrganisation(scope, fields.channels, organisationHint);
  await requireRole(scope, organisationId, fields.type); // members hold the manage-own-* permissions
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
  return { integration, token };
}

export async function updateWebhookIntegration(scope: Scope, body: unknown): Promise<Shaped> {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Body;
  const type = str(b, 'type', true);
  const id = str(b, 'integrationId', true);
  const integration = await requireManageable(scope, id, type);
  const fields = await parseFields(body, integration);
  await checkChannelsExist(scope.em, integration.organisation.id, fields.channels);
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
  return { integration };
}

export async function removeWebhookIntegration(scope: Scope, body: unknown): Promise<Shaped> {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Body;
  const type = str(b, 'type', true);
  if (!(WEBHOOK_TYPES as readonly string[]).includes(type!)) throw new ValidationError('type', `/type must be equal to one of the allowed values: ${WEBHOOK_TYPES.join(', ')}`);
  const id = str(b, 'integrationId', true);
  const integration = await requireManageable(scope, id, type);
  await scope.em.remove(integration).flush();
  forgetOutgoing(scope.deps);
  forgetIncoming(scope.deps, integration.id);
  forgetStore(scope.deps, integration.id);
  return { integration };
}

export async function getWebhookIntegration(scope: Scope, integrationId: unknown): Promise<Shaped> {
  if (integrationId === undefined || integrationId === '') throw new ValidationError('integrationId', `The query parameter "integrationId" is required.`);
  return { integration: await requireManageable(scope, integrationId) };
}

function pageArgs(offsetValue: unknown, countValue: unknown) {
  const offset = offsetValue === undefined ? 0 : Number(offsetValue);
  const count = countValue === undefined ? 50 : Number(countValue);
  if (!Number.isInteger(offset) || offset < 0) throw new ValidationError('offset', 'offset must be a non-negative integer');
  if (!Number.isInteger(count) || count < 0 || count > 100) throw new ValidationError('count', 'count must be an integer from 0 to 100');
  return { offset, count };
}

/** Integrations the viewer may manage, across their organisations, newest first. */
export async function listWebhookIntegrations(scope: Scope, query: { offset?: unknown; count?: unknown; name?: unknown; type?: unknown }) {
  const viewer = requireViewer(scope);
  const { offset, count } = pageArgs(query.offset, query.count);
  if (query.type !== undefined && !(WEBHOOK_TYPES as readonly string[]).includes(String(query.type))) {
    throw new ValidationError('type', `type must be one of ${WEBHOOK_TYPES.join(', ')}`);
  }
  const memberships = await viewerMemberships(scope);
  const admin = memberships.filter((m) => m.role !== 'member').map((m) => m.organisation.id);
  const member = memberships.filter((m) => m.role === 'member').map((m) => m.organisation.id);
  const where = {
    $or: [{ organisation: { $in: admin } }, { organisation: { $in: member }, createdBy: viewer }],
    ...(query.type ? { type: String(query.type) as WebhookType } : {}),
    ...(typeof query.name === 'string' && query.name ? { name: { $like: `%${query.name.replace(/[%_\\]/g, (c) => `\\${c}`)}%` } } : {}),
  };
  if (!admin.length && !member.length) return { integrations: [], offset, total: 0 };
  const [rows, total] = await scope.em.findAndCount(WebhookIntegration, where, {
    orderBy: { createdAt: 'desc', id: 'desc' },
    limit: count,
    offset,
    populate: ['createdBy', 'updatedBy'],
  });
  return { integrations: rows, offset, total };
}

export async function webhookIntegrationHistory(scope: Scope, query: { id?: unknown; offset?: unknown; count?: unknown }) {
  if (query.id === undefined || query.id === '') throw new ValidationError('id', 'The query parameter "id" is required.');
  const integration = await requireManageable(scope, query.id);
  const { offset, count } = pageArgs(query.offset, query.count);
  const [history, total] = await scope.em.findAndCount(WebhookIntegrationHistory, { integration }, { orderBy: { id: 'desc' }, limit: count, offset });
  return { history, offset, total };
}

// ---------------------------------------------------------------------------------------------------
// Rocket.Chat shapes

export async function toRocketChat(em: EntityManager, deps: Deps, shaped: Shaped) {
  const i = shaped.integration;
  const creator = i.createdBy ? await em.findOne(User, { id: i.createdBy.id }) : null;
  const updater = i.updatedBy ? await em.findOne(User, { id: i.updatedBy.id }) : null;
  const out: Record<string, unknown> = {
    type: i.type,
    name: i.name,
    enabled: i.enabled,
    username: i.username,
    channel: i.channels,
    scriptEnabled: i.scriptEnabled,
    ...(i.script ? { script: i.script } : {}),
    scriptEngine: SCRIPT_ENGINE,
    overrideDestinationChannelEnabled: false,
    ...(i.alias ? { alias: i.alias } : {}),
    ...(i.avatar ? { avatar: i.avatar } : {}),
    ...(i.emoji ? { emoji: i.emoji } : {}),
  };
  if (i.type === 'webhook-incoming') {
    if (shaped.token) out.token = shaped.token;
  } else {
    out.event = i.event;
    out.urls = i.urls;
    if (i.triggerWords.length) out.triggerWords = i.triggerWords;
    out.triggerWordAnywhere = i.triggerWordAnywhere;
    out.retryFailedCalls = i.retryFailedCalls;
    out.retryCount = i.retryCount;
    out.retryDelay = i.retryDelay;
    if (i.outgoingToken) out.token = maskSecret(decryptSecret(deps.config.secretKey, i.outgoingToken));
  }
  const creatorName = creator?.name;
  out.userId = i.createdBy?.id ?? null;
  out._createdAt = i.createdAt.toISOString();
  out._createdBy = i.createdBy ? { _id: i.createdBy.id, username: creatorName ?? null } : null;
  out._updatedAt = i.updatedAt.toISOString();
  if (i.updatedBy) out._updatedBy = { _id: i.updatedBy.id, username: updater?.name ?? null };
  out._id = i.id;
  return out;
}

export function historyToRocketChat(h: WebhookIntegrationHistory) {
  return {
    _id: h.id,
    type: h.type,
    step: h.step,
    integration: { _id: h.integration.id },
    event: h.event,
    _createdAt: h.createdAt.toISOString(),
    _updatedAt: h.updatedAt.toISOString(),
    data: h.data,
    ranPrepareScript: h.ranPrepareScript,
    finished: h.finished,
    ...(h.triggerWord ? { triggerWord: h.triggerWord } : {}),
    ...(h.url ? { url: h.url } : {}),
    ...(h.httpCallData ? { httpCallData: h.httpCallData } : {}),
    ...(h.httpStatus != null ? { httpResult: { statusCode: h.httpStatus, content: h.httpResult } } : {}),
    ...(h.httpError ? { httpError: h.httpError } : {}),
    ...(h.error ? { error: true, errorStack: h.errorMessage } : {}),
    ...(h.scriptLogs?.length ? { scriptLogs: h.scriptLogs } : {}),
    ...(h.scriptHttpCalls?.length ? { scriptHttpCalls: h.scriptHttpCalls } : {}),
    ...(h.deliveryId ? { deliveryId: h.deliveryId } : {}),
    ...(h.messageId ? { messageId: h.messageId } : {}),
    ...(h.postedMessageIds?.length ? { postedMessageIds: h.postedMessageIds } : {}),
  };
}
