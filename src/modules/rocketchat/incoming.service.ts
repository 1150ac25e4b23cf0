/**
 * Incoming integrations: `/hooks/{id}/{token}` posts through the normal message path (postMessage), with
 * Rocket.Chat's message model (message-content.ts: alias, avatar or emoji, attachments, trimmed text), after the
 * integration's process_incoming_request script when it has one. A call that names another channel than the
 * integration's own is refused, as Rocket.Chat does without overrideDestinationChannelEnabled.
 */
import type { Deps, WorkScope } from '../../context.js';
import type { TtlCache } from '../../infra/ttl-cache.js';
import { DomainError, NotFoundError, ValidationError } from '../../errors.js';
import { hashToken, safeEqual } from '../../infra/crypto.js';
import { isUuid } from '../auth/auth.service.js';
import { ownChannels, targetChannels } from './channel-scope.js';
import { hasContent, webhookMessage, type WebhookMessage } from './message-content.js';
import { INCOMING_SOURCE, postToChannels, recordHistory, type Poster } from './posting.service.js';
import type { ScriptHttpCall } from './script-http.js';
import { plainObject } from './script-sandbox.js';
import { runIntegrationScript, scriptFailure, type HistoryDraft } from './scripts.service.js';
import { WebhookIntegration } from './webhook-integration.entity.js';

/** A disabled incoming integration: Rocket.Chat answers 503. */
export class IntegrationDisabledError extends DomainError {
  constructor() {
    super('Integration is disabled');
  }
}

/** An incoming call a script refused or failed on: answered as Rocket.Chat's failure body. */
export class IncomingRefusedError extends DomainError {
  constructor(readonly error: unknown) {
    super(typeof error === 'string' ? error : 'error-running-script');
  }
}

/** Rocket.Chat's answer to a call naming a channel the integration does not post to. */
export const OVERRIDE_REFUSED = 'overriding destination channel is disabled for this integration';

export interface IncomingRequest {
  integrationId: string;
  token: string;
  method: string;
  url: string;
  headers: Record<string, unknown>;
  query: Record<string, unknown>;
  /** The parsed body (JSON, or the `payload` field of a form), or the query for GET. */
  content: unknown;
  rawBody?: string;
}

/**
 * An incoming integration and the channels it posts to, cached for a second per app (every call asks).
 * Changes made through this replica drop the entry at once; other replicas see them within the second,
 * channel creations and deletions included.
 */
interface IncomingTarget extends Poster {
  organisationId: string;
  enabled: boolean;
  tokenHash: string | null;
  scriptEnabled: boolean;
  script: string | null;
  createdById: string | null;
  channels: { id: string; name: string }[];
}

function incomingCache(deps: Deps) {
  return deps.rocketchat.incoming as TtlCache<string, IncomingTarget>;
}

export function forgetIncoming(deps: Deps, id: string) {
  incomingCache(deps).delete(id);
}

/** Channels were created or deleted: every integration's channel list is looked up again. */
export function forgetAllIncoming(deps: Deps) {
  incomingCache(deps).clear();
}

async function incomingTarget(ctx: WorkScope, id: string): Promise<IncomingTarget | null> {
  if (!isUuid(id)) return null;
  const cache = incomingCache(ctx.deps);
  const hit = cache.get(id);
  if (hit) return hit;
  const integration = await ctx.em.findOne(WebhookIntegration, { id, type: 'webhook-incoming' });
  if (!integration) {
    cache.delete(id);
    return null;
  }
  const target: IncomingTarget = {
    id: integration.id,
    type: integration.type,
    username: integration.username,
    alias: integration.alias,
    emoji: integration.emoji,
    avatar: integration.avatar,
    organisationId: integration.organisation.id,
    enabled: integration.enabled,
    tokenHash: integration.tokenHash ?? null,
    scriptEnabled: integration.scriptEnabled,
    script: integration.script ?? null,
    createdById: integration.createdBy?.id ?? null,
    channels: (await targetChannels(ctx, integration)).map((c) => ({ id: c.id, name: c.name })),
  };
  cache.set(id, target);
  return target;
}

/** An incoming webhook call: authenticate by the URL token, run the script, post to the channels. */
export async function receiveIncoming(ctx: WorkScope, req: IncomingRequest): Promise<{ messageIds: string[] }> {
  const integration = await incomingTarget(ctx, req.integrationId);
  if (!integration || !integration.tokenHash || !safeEqual(integration.tokenHash, hashToken(req.token))) {
    throw new NotFoundError('integration');
  }
  if (!integration.enabled) throw new IntegrationDisabledError();

  let content = plainObject(req.content) ?? {};
  // What the caller sent, until a script answers with its own content.
  let fromCaller = true;
  // The run is written once, at its end; a plain call (no script) that succeeds writes none.
  const row: HistoryDraft = { event: 'incoming', data: redactHeaders(content) };
  const save = () => recordHistory(ctx.em, integration, row);
  const httpCalls: ScriptHttpCall[] = [];
  if (integration.scriptEnabled && integration.script) {
    const parsedUrl = new URL(req.url, 'http://localhost');
    const request = {
      url: { hash: parsedUrl.hash || null, search: parsedUrl.search || null, query: req.query, pathname: parsedUrl.pathname, path: parsedUrl.pathname + parsedUrl.search },
      url_raw: req.url,
      url_params: req.query,
      content,
      content_raw: req.rawBody ?? JSON.stringify(content),
      headers: redactHeaders(req.headers),
      body: content,
      user: { _id: integration.createdById, name: integration.username, username: integration.username },
    };
    let run;
    try {
      run = await runIntegrationScript(ctx, integration, 'process_incoming_request', { request }, httpCalls, [req.token]);
    } catch (error) {
      scriptFailure(row, 'execute-script-error', error);
      if (httpCalls.length) row.scriptHttpCalls = httpCalls;
      await save();
      throw new IncomingRefusedError('error-running-script');
    }
    row.ranPrepareScript = true;
    row.scriptLogs = run.logs;
    if (httpCalls.length) row.scriptHttpCalls = httpCalls;
    if (run.implemented) {
      const result = plainObject(run.result);
      if (!run.result) {
        row.step = 'script-returned-nothing';
        row.finished = true;
        await save();
        return { messageIds: [] };
      }
      if (result?.error !== undefined) {
        row.step = 'script-returned-error';
        row.finished = true;
        row.error = true;
        row.errorMessage = typeof result.error === 'string' ? result.error : JSON.stringify(result.error);
        await save();
        throw new IncomingRefusedError(result.error);
      }
      content = plainObject(result?.content) ?? {};
      fromCaller = false;
    }
  }

  const refuse = async (step: string, error: Error) => {
    row.step = step;
    row.error = true;
    row.finished = true;
    row.errorMessage = error.message;
    await save();
    throw error;
  };

  // Rocket.Chat refuses any other destination unless overrideDestinationChannelEnabled, which
  // Switchboard never sets; naming one of the integration's own channels narrows the post to it.
  const asked = content.channel ?? content.roomId ?? (fromCaller ? (req.query.channel ?? req.query.roomId) : undefined);
  let channels = integration.channels;
  if (asked !== undefined && asked !== null && asked !== '') {
    const own = ownChannels(integration.channels, asked);
    if (!own) await refuse('override-refused', new IncomingRefusedError(OVERRIDE_REFUSED));
    channels = own!;
  }

  let message: WebhookMessage;
  try {
    message = webhookMessage(content, integration);
  } catch (error) {
    if (error instanceof ValidationError) await refuse('invalid-message', error);
    throw error;
  }
  if (!hasContent(message)) await refuse('invalid-message', new ValidationError('text', 'text is required (or attachments)'));
  const messageIds = await postToChannels(ctx, integration, channels, message!, INCOMING_SOURCE);
  if (row.ranPrepareScript) {
    row.step = 'finished';
    row.finished = true;
    row.postedMessageIds = messageIds;
    await save();
  }
  return { messageIds };
}

/** Headers as a script and the history see them: credentials replaced. */
function redactHeaders(headers: Record<string, unknown>) {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(headers)) {
    out[k] = /^(authorization|cookie|x-auth-token)$/i.test(k) ? '[redacted]' : v;
  }
  return out;
}
