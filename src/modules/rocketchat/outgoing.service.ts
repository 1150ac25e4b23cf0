/**
 * Outgoing integrations: they react to 'message.created' (sendMessage) and 'channel.created' (roomCreated); each URL
 * call is a Delivery (kind `rocketchat-outgoing`) whose retry delays follow Rocket.Chat's retryFailedCalls /
 * retryCount / retryDelay, after the integration's prepare_outgoing_request script when it has one. A JSON answer with
 * `text` or `attachments` (after process_outgoing_response) is posted back. Messages an outgoing integration posts
 * (source `rocketchat-outgoing`) never trigger outgoing integrations.
 */
import type { EntityManager } from '@mikro-orm/core';
import { forkOnUse, type Deps, type WorkScope } from '../../context.js';
import { ValidationError } from '../../errors.js';
import { decryptSecret, maskSecret } from '../../infra/crypto.js';
import type { HookEvents, StoredMessage } from '../../infra/hooks.js';
import { findChannelById } from '../channels/channels.service.js';
import type { Channel } from '../channels/channel.entity.js';
import type { DeliveryResult, ReplayedCall } from '../deliveries/deliveries.service.js';
import { watches } from './channel-scope.js';
import { forgetAllIncoming } from './incoming.service.js';
import { hasContent, webhookMessage, type WebhookMessage } from './message-content.js';
import { OUTGOING_SOURCE, postToChannels, recordHistory } from './posting.service.js';
import type { ScriptHttpCall } from './script-http.js';
import { plainObject } from './script-sandbox.js';
import { runIntegrationScript, scriptFailure } from './scripts.service.js';
import { WebhookIntegration, WebhookIntegrationHistory, type RetryDelay } from './webhook-integration.entity.js';

export const DELIVERY_KIND = 'rocketchat-outgoing';

/** Rocket.Chat's wait before retry number `tries + 1` (tries counts from 0). */
export function retryDelayMs(delay: RetryDelay, tries: number): number {
  switch (delay) {
    case 'powers-of-ten':
      return 10 ** (tries + 2); // 0.1 s, 1 s, 10 s, 1 min 40 s, 16 min 40 s ...
    case 'powers-of-two':
      return 2 ** (tries + 1) * 1_000; // 2 s, 4 s, 8 s ...
    case 'increments-of-two':
      return (tries + 1) * 2 * 1_000; // 2 s, 4 s, 6 s ...
  }
}

export function retrySchedule(integration: Pick<WebhookIntegration, 'retryFailedCalls' | 'retryCount' | 'retryDelay'>): number[] {
  if (!integration.retryFailedCalls) return [];
  return Array.from({ length: integration.retryCount }, (_, i) => retryDelayMs(integration.retryDelay as RetryDelay, i));
}

interface Trigger {
  event: string;
  channel: Channel;
  payload: Record<string, unknown>;
  triggerWord?: string | null;
  messageId?: string | null;
}

/** Call each url of an outgoing integration for one event: prepare script, then a Delivery per url. */
async function fire(ctx: WorkScope, integration: WebhookIntegration, trigger: Trigger) {
  const token = integration.outgoingToken ? decryptSecret(ctx.deps.config.secretKey, integration.outgoingToken) : undefined;
  const data = { token, bot: false, ...trigger.payload, ...(trigger.triggerWord ? { trigger_word: trigger.triggerWord } : {}) };
  for (const url of integration.urls) {
    const row = await recordHistory(ctx.em, { id: integration.id, type: integration.type, organisationId: integration.organisation.id }, {
      event: trigger.event,
      url,
      triggerWord: trigger.triggerWord ?? null,
      data: { ...data, token: token ? maskSecret(token) : undefined },
      messageId: trigger.messageId ?? null,
    });
    let request: { url: string; method: string; data: unknown; headers: Record<string, string> } = { url, method: 'POST', data, headers: {} };
    if (integration.scriptEnabled && integration.script) {
      let run;
      const httpCalls: ScriptHttpCall[] = [];
      try {
        run = await runIntegrationScript(ctx, integration, 'prepare_outgoing_request', { request }, httpCalls, [token]);
      } catch (error) {
        scriptFailure(row, 'execute-script-error', error);
        if (httpCalls.length) row.scriptHttpCalls = httpCalls;
        await ctx.em.flush();
        continue;
      }
      row.ranPrepareScript = true;
      row.scriptLogs = run.logs;
      if (httpCalls.length) row.scriptHttpCalls = httpCalls;
      if (run.implemented) {
        const result = plainObject(run.result);
        if (!result) {
          row.step = 'script-returned-nothing';
          row.finished = true;
          await ctx.em.flush();
          continue;
        }
        const direct = plainObject(result.message);
        if (direct) {
          // A message the script answers with itself (help texts, local answers), text or attachments.
          row.step = 'script-returned-message';
          row.finished = true;
          try {
            const message = webhookMessage(direct, integration);
            if (hasContent(message)) row.postedMessageIds = await postToChannels(ctx, integration, [trigger.channel], message, OUTGOING_SOURCE);
          } catch (error) {
            if (!(error instanceof ValidationError)) throw error;
            scriptFailure(row, 'script-returned-invalid-message', error);
          }
          await ctx.em.flush();
          continue;
        }
        try {
          request = sanitizeRequest(result, request);
        } catch (error) {
          scriptFailure(row, 'script-returned-invalid-request', error);
          await ctx.em.flush();
          continue;
        }
      }
    }
    row.step = 'pre-http-call';
    row.httpCallData = { url: request.url, method: request.method, data: maskToken(request.data, token) };
    await ctx.em.flush();
    const delivery = await ctx.deps.deliveries.enqueue(ctx.em, {
      kind: DELIVERY_KIND,
      organisationId: integration.organisation.id,
      channelId: trigger.channel.id,
      targetId: integration.id,
      url: request.url,
      method: request.method,
      body: request.method === 'GET' ? null : request.data,
      headers: Object.keys(request.headers).length ? request.headers : null,
      retry: retrySchedule(integration),
      messageId: trigger.messageId ?? null,
    });
    await ctx.em.nativeUpdate(WebhookIntegrationHistory, { id: row.id }, { deliveryId: delivery.id });
  }
}

function maskToken(data: unknown, token: string | undefined) {
  const record = plainObject(data);
  if (!record || !token || record.token !== token) return data;
  return { ...record, token: maskSecret(token) };
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** What prepare_outgoing_request may change: url (http/https), method, data, string headers. */
function sanitizeRequest(result: Record<string, unknown>, base: { url: string; method: string; data: unknown; headers: Record<string, string> }) {
  const url = typeof result.url === 'string' ? result.url : base.url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`script returned an invalid url "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('script returned a url that is not http or https');
  const method = typeof result.method === 'string' ? result.method.toUpperCase() : base.method;
  if (!METHODS.includes(method)) throw new Error(`script returned an unsupported method "${method}"`);
  const headers: Record<string, string> = {};
  const given = plainObject(result.headers);
  if (given) for (const [k, v] of Object.entries(given)) if (typeof v === 'string' && /^[A-Za-z0-9-]+$/.test(k) && !/^(host|content-length|connection|transfer-encoding)$/i.test(k)) headers[k] = v;
  return { url, method, data: 'data' in result ? result.data : base.data, headers };
}

function matchTrigger(integration: WebhookIntegration, text: string): string | null | false {
  if (!integration.triggerWords.length) return null;
  for (const word of integration.triggerWords) {
    if (integration.triggerWordAnywhere ? text.includes(word) : text.startsWith(word)) return word;
  }
  return false;
}

/**
 * Whether an organisation has enabled outgoing integrations for an event, cached for a second per app:
 * every stored message asks, and most organisations have none. Changes made through this replica drop
 * the cache at once; other replicas see them within the second.
 */
function outgoingCache(deps: Deps) {
  return deps.rocketchat.outgoingNone;
}

/** The cache's key for an organisation's outgoing integrations on `event`. */
const outgoingKey = (organisationId: string, event: string) => `${organisationId}:${event}`;

export function forgetOutgoing(deps: Deps) {
  outgoingCache(deps).clear();
}

async function outgoingFor(ctx: WorkScope, organisationId: string, event: string): Promise<WebhookIntegration[]> {
  // That there are none is cached, and read once however many messages miss at the same time.
  const find = () => ctx.em.find(WebhookIntegration, { organisation: organisationId, type: 'webhook-outgoing', enabled: true, event });
  return (await outgoingCache(ctx.deps).unlessNone(outgoingKey(organisationId, event), find, (rows) => !rows.length)) ?? [];
}

/**
 * A message no outgoing integration can take, known at once (most of them: no outgoing integration in its
 * organisation, cached): the hook returns with no promise on the message path. Replies of outgoing
 * integrations never trigger outgoing integrations (no ping-pong between bots).
 */
function quiet(deps: Deps, message: StoredMessage): boolean {
  return message.source === OUTGOING_SOURCE || outgoingCache(deps).get(outgoingKey(message.organisationId, 'sendMessage')) === true;
}

/** Called only for messages that are not `quiet`. */
async function onMessageCreated(ctx: WorkScope, { message }: HookEvents['message.created']) {
  const integrations = await outgoingFor(ctx, message.organisationId, 'sendMessage');
  if (!integrations.length) return;
  const channel = await findChannelById(ctx, message.channelId);
  if (!channel) return;
  for (const integration of integrations) {
    if (!watches(integration, channel.name)) continue;
    if (message.userId === `integration:${integration.id}`) continue;
    const word = matchTrigger(integration, message.message);
    if (word === false) continue;
    await fire(ctx, integration, {
      event: 'sendMessage',
      channel,
      triggerWord: word,
      messageId: message.id,
      payload: {
        channel_id: channel.id,
        channel_name: channel.name,
        message_id: message.id,
        timestamp: message.createdAt.toISOString(),
        user_id: message.userId,
        user_name: message.username,
        text: message.message,
        siteUrl: ctx.deps.config.publicUrl,
        // As Rocket.Chat: the shown name when the message has one, and bot for integrations' messages.
        ...(message.alias ? { alias: message.alias } : {}),
        ...(message.userId?.startsWith('integration:') ? { bot: true } : {}),
      },
    });
  }
}

async function onChannelCreated(ctx: WorkScope, { organisationId, channelId }: HookEvents['channel.created']) {
  const integrations = await outgoingFor(ctx, organisationId, 'roomCreated');
  if (!integrations.length) return;
  const channel = await findChannelById(ctx, channelId);
  if (!channel) return;
  for (const integration of integrations) {
    if (!watches(integration, channel.name)) continue;
    await fire(ctx, integration, {
      event: 'roomCreated',
      channel,
      payload: { channel_id: channel.id, channel_name: channel.name, timestamp: channel.createdAt.toISOString(), siteUrl: ctx.deps.config.publicUrl },
    });
  }
}

/**
 * A replayed call gets its own run in the history, a copy of the run it repeats (the request as it was sent; the
 * prepare script is not run again), pointing at the new delivery and, by `replayOf`, at that run.
 */
async function onReplay(replay: ReplayedCall, ctx: WorkScope) {
  if (!replay.targetId) return;
  const original =
    (await ctx.em.findOne(WebhookIntegrationHistory, { integration: replay.targetId, deliveryId: replay.replayOf })) ??
    (await ctx.em.findOne(WebhookIntegrationHistory, { integration: replay.targetId, deliveryId: replay.webhookId }));
  const integration = await ctx.em.findOne(WebhookIntegration, { id: replay.targetId }, { fields: ['type', 'organisation'] });
  if (!integration) return;
  await recordHistory(ctx.em, { id: integration.id, type: integration.type, organisationId: integration.organisation.id }, {
    event: original?.event ?? null,
    url: replay.url,
    triggerWord: original?.triggerWord ?? null,
    data: original?.data ?? null,
    httpCallData: original?.httpCallData ?? null,
    messageId: replay.messageId,
    step: 'pre-http-call',
    deliveryId: replay.id,
    replayOf: original?.id ?? null,
  });
}

/** The answer of an outgoing call: history, Rocket.Chat's 410 rule, the response script, the reply. */
async function onDeliveryResult(result: DeliveryResult, ctx: WorkScope): Promise<void | { retry?: boolean }> {
  const { delivery } = result;
  const integration = delivery.targetId ? await ctx.em.findOne(WebhookIntegration, { id: delivery.targetId }) : null;
  if (!integration) return { retry: false };
  // A replay has its own run, written with it (onReplay); the queue's own attempts share their call's run.
  const row = await ctx.em.findOne(
    WebhookIntegrationHistory,
    delivery.replayOf
      ? { integration, deliveryId: delivery.id }
      : { integration, url: delivery.url, messageId: delivery.messageId, step: { $in: ['pre-http-call', 'http-error'] } },
    { orderBy: { id: 'desc' } },
  );
  const gone = result.statusCode === 410;
  if (row) {
    row.httpStatus = result.statusCode;
    row.httpResult = result.body ? result.body.slice(0, 2_048) : null;
    row.httpError = result.ok ? null : result.error;
    row.step = result.ok ? 'after-http-call' : 'http-error';
    row.finished = result.ok || result.final || gone;
    if (!result.ok && row.finished) {
      row.error = true;
      row.errorMessage = gone ? 'Disabling the integration because the status code was 410 (Gone)' : `${result.error} after ${delivery.attempt} attempt(s)`;
    }
  }
  if (gone) {
    integration.enabled = false;
    await ctx.em.flush();
    forgetOutgoing(ctx.deps);
    return { retry: false };
  }
  if (!result.ok) {
    await ctx.em.flush();
    return;
  }

  let content = plainObject(result.json);
  let post = true;
  if (integration.scriptEnabled && integration.script) {
    const httpCalls: ScriptHttpCall[] = [];
    try {
      const run = await runIntegrationScript(
        ctx,
        integration,
        'process_outgoing_response',
        {
          request: row?.httpCallData ?? { url: delivery.url },
          response: { error: null, status_code: result.statusCode, content: result.json ?? null, content_raw: result.body, headers: {} },
        },
        httpCalls,
        [integration.outgoingToken ? decryptSecret(ctx.deps.config.secretKey, integration.outgoingToken) : null],
      );
      if (row) row.scriptLogs = [...(row.scriptLogs ?? []), ...run.logs];
      if (run.implemented) {
        if (run.result === false) post = false;
        else if (run.result !== undefined && run.result !== null) content = plainObject(plainObject(run.result)?.content);
      }
    } catch (error) {
      if (row) scriptFailure(row, 'process-response-script-error', error);
      post = false;
    }
    if (row && httpCalls.length) row.scriptHttpCalls = [...((row.scriptHttpCalls as ScriptHttpCall[] | null) ?? []), ...httpCalls];
  }
  // Rocket.Chat posts an answer that has `text` or `attachments` (an image-only bot reply included).
  if (post && content && delivery.channelId && (content.text || content.msg || content.attachments)) {
    let message: WebhookMessage | null = null;
    try {
      message = webhookMessage(content, integration);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      if (row) scriptFailure(row, 'invalid-reply', error);
    }
    const channel = message && hasContent(message) ? await findChannelById(ctx, delivery.channelId) : null;
    if (message && channel) {
      const ids = await postToChannels(ctx, integration, [channel], message, OUTGOING_SOURCE);
      if (row) row.postedMessageIds = ids;
    }
  }
  if (row) row.step = row.error ? row.step : 'finished';
  await ctx.em.flush();
}

/**
 * Wire outgoing integrations to the domain events of one app; returns the unsubscribe function.
 * Handlers fork their own EntityManager and never throw into the emitter.
 */
export function startRocketChatTriggers(root: { em: EntityManager }, deps: Deps): () => void {
  const guard = <T>(name: string, fn: (ctx: WorkScope, payload: T) => Promise<void>) => async (payload: T) => {
    try {
      await fn(forkOnUse(root, { deps }), payload);
    } catch (error) {
      deps.logger.error({ err: error, handler: name }, 'outgoing webhook trigger failed');
    }
  };
  deps.deliveries.registerKind(DELIVERY_KIND, { onResult: (result, ctx) => onDeliveryResult(result, ctx), onReplay: (replay, ctx) => onReplay(replay, ctx), healthPerUrl: true });
  const forgetChannels = async () => forgetAllIncoming(deps);
  const sendMessageTrigger = guard('message.created', onMessageCreated);
  const offs = [
    deps.hooks.on('channel.created', forgetChannels),
    deps.hooks.on('channel.deleted', forgetChannels),
    deps.hooks.on('message.created', (payload) => (quiet(deps, payload.message) ? undefined : sendMessageTrigger(payload))),
    deps.hooks.on('channel.created', guard('channel.created', onChannelCreated)),
  ];
  return () => offs.forEach((off) => off());
}
