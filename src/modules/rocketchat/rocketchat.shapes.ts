/**
 * Rocket.Chat's wire shapes, for the Rocket.Chat door (rocketchat.rest.ts) only: an integration's and a history
 * entry's REST JSON, and the failure bodies Rocket.Chat answers for each kind of error. The services return
 * entities and domain errors; this file says how Rocket.Chat spells them.
 */
import { DomainError, ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../../errors.js';
import { IncomingRefusedError, IntegrationDisabledError } from './incoming.service.js';
import { InvalidChannelError } from './integration-fields.js';
import type { ManagedIntegration } from './management.service.js';
import type { WebhookIntegrationHistory } from './webhook-integration.entity.js';

/** Rocket.Chat's name for the sandbox its scripts run in (Switchboard's is isolated-vm too). */
export const SCRIPT_ENGINE = 'isolated-vm';

/** Rocket.Chat's answer to a request without valid X-Auth-Token/X-User-Id. */
export const UNAUTHORIZED_BODY = { status: 'error', message: 'You must be logged in to do this.' };

/** A failure as Rocket.Chat answers it. */
export interface Failure {
  status: number;
  body: Record<string, unknown>;
}

/** An integration as Rocket.Chat's integrations API shows it. */
export function integrationToRocketChat(managed: ManagedIntegration) {
  const i = managed.integration;
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
    if (managed.token) out.token = managed.token;
  } else {
    out.event = i.event;
    out.urls = i.urls;
    if (i.triggerWords.length) out.triggerWords = i.triggerWords;
    out.triggerWordAnywhere = i.triggerWordAnywhere;
    out.retryFailedCalls = i.retryFailedCalls;
    out.retryCount = i.retryCount;
    out.retryDelay = i.retryDelay;
    if (managed.maskedOutgoingToken) out.token = managed.maskedOutgoingToken;
  }
  const { createdBy, updatedBy } = managed;
  out.userId = createdBy?.id ?? null;
  out._createdAt = i.createdAt.toISOString();
  out._createdBy = createdBy ? { _id: createdBy.id, username: createdBy.name ?? null } : null;
  out._updatedAt = i.updatedAt.toISOString();
  if (updatedBy) out._updatedBy = { _id: updatedBy.id, username: updatedBy.name ?? null };
  out._id = i.id;
  return out;
}

/** One run of an integration as Rocket.Chat's integrations.history shows it. */
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
    ...(h.replayOf ? { replayOf: h.replayOf } : {}),
    ...(h.messageId ? { messageId: h.messageId } : {}),
    ...(h.postedMessageIds?.length ? { postedMessageIds: h.postedMessageIds } : {}),
  };
}

/** Rocket.Chat's answer to a domain error of the integrations API; undefined for anything else (a bug: a 500). */
export function managementFailure(error: unknown): Failure | undefined {
  if (error instanceof UnauthenticatedError) return { status: 401, body: UNAUTHORIZED_BODY };
  if (error instanceof InvalidChannelError) return { status: 400, body: { success: false, error: error.message, errorType: 'error-invalid-channel' } };
  if (error instanceof ValidationError) {
    const m = error.message;
    const text = m.startsWith('must have required property') ? `${m}\n ${m}\n must match exactly one schema in oneOf [invalid-params]` : `${m} [invalid-params]`;
    return { status: 400, body: { success: false, error: text, errorType: 'invalid-params' } };
  }
  if (error instanceof ForbiddenError) return { status: 403, body: { success: false, error: error.message } };
  if (error instanceof NotFoundError) {
    const what = error.resource === 'integration' ? 'The integration does not exist.' : error.message;
    return { status: 404, body: { success: false, error: `${what} [error-invalid-integration]`, errorType: 'error-invalid-integration' } };
  }
  if (error instanceof DomainError) return { status: 400, body: { success: false, error: error.message } };
  return undefined;
}

/** Rocket.Chat's answer to a refused incoming webhook call; undefined for anything else. */
export function incomingFailure(error: unknown): Failure | undefined {
  if (error instanceof NotFoundError) return { status: 404, body: { success: false, error: 'Invalid integration id or token provided.' } };
  if (error instanceof IntegrationDisabledError) return { status: 503, body: { success: false, error: 'Service Unavailable' } };
  if (error instanceof IncomingRefusedError) return { status: 400, body: { success: false, error: error.error } };
  if (error instanceof ValidationError) return { status: 400, body: { success: false, error: error.message, errorType: 'invalid-params' } };
  return undefined;
}

/** Rocket.Chat's body for a request Fastify refused before any service ran (malformed JSON, a body too large). */
export function malformedRequestFailure(status: number, error: Error & { code?: string }): Failure {
  const message = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'request body is too large' : error instanceof SyntaxError || /JSON/i.test(error.message) ? 'request body is not valid JSON' : error.message;
  return { status, body: { success: false, error: message, errorType: 'invalid-params' } };
}

/** Rocket.Chat's body for an unexpected failure (logged by the door). */
export const INTERNAL_ERROR_BODY = { success: false, error: 'internal server error' };
