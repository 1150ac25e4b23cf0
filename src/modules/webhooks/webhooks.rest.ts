import type { FastifyPluginAsync } from 'fastify';
import { NotFoundError, ValidationError } from '../../errors.js';
import { findChannelById } from '../channels/channels.service.js';
import type { RestOptions } from '../../rest/scope.js';
import { postMessage } from '../messages/messages.service.js';

/**
 * The fields `POST /v1/webhooks/{channel_id}` requires: the four of the documented GET form, which is
 * what real interval integrations post their reports with. The reference lists six more as required
 * (`DOCUMENTED_WEBHOOK_FIELDS`); they are accepted and type-checked when present, not demanded.
 */
export const REQUIRED_WEBHOOK_FIELDS = ['event_name', 'message', 'status', 'username'] as const;
export const DOCUMENTED_WEBHOOK_FIELDS = [...REQUIRED_WEBHOOK_FIELDS, 'channel_id', 'webhook_slug', 'action_type', 'status_code', 'user_id', 'org_id'] as const;

/** Service input names back to the body's own names, so a 400 names the field the caller sent. */
const BODY_NAMES: Record<string, string> = { eventName: 'event_name', userId: 'user_id', threadId: 'thread_id' };

async function post(...args: Parameters<typeof postMessage>) {
  try {
    return await postMessage(...args);
  } catch (error) {
    if (error instanceof ValidationError && BODY_NAMES[error.field]) {
      const field = BODY_NAMES[error.field];
      throw new ValidationError(field, error.message.replace(error.field, field));
    }
    throw error;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const present = (v: unknown) => v !== undefined && v !== null && !(typeof v === 'string' && v.trim() === '');
const text = (v: unknown) => (v === undefined || v === null ? undefined : typeof v === 'string' ? v : String(v));

/** Fields other than `message` may be strings, numbers or booleans (`status_code: "200"` or `200`). */
function checkScalar(body: Record<string, unknown>, field: string) {
  const v = body[field];
  if (v !== undefined && v !== null && !['string', 'number', 'boolean'].includes(typeof v)) {
    throw new ValidationError(field, `${field} must be a string`);
  }
}

/**
 * Inbound webhooks, as Telex documents them: GET with query parameters, POST with a JSON body. The
 * channel id in the URL is the capability (no token). The answer (202 with the message id) is sent only
 * after the message is committed.
 */
export const webhooksRest: FastifyPluginAsync<RestOptions> = async (app, opts) => {
  const ctx = () => ({ em: opts.orm.em.fork(), deps: opts.deps });

  app.post<{ Params: { channelId: string }; Body: unknown }>('/v1/webhooks/:channelId', async (request, reply) => {
    const body = request.body;
    if (!isRecord(body)) throw new ValidationError('body', 'the body must be a JSON object');
    const missing = REQUIRED_WEBHOOK_FIELDS.filter((f) => !present(body[f]));
    if (missing.length) {
      const errors = missing.map((field) => ({ field, message: `${field} is required` }));
      return reply.code(400).send({
        status: 'error',
        status_code: 400,
        message: `missing required field${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`,
        errors,
      });
    }
    if (typeof body.message !== 'string') throw new ValidationError('message', 'message must be a string');
    for (const f of DOCUMENTED_WEBHOOK_FIELDS) if (f !== 'message') checkScalar(body, f);
    if (present(body.channel_id) && String(body.channel_id) !== request.params.channelId) {
      // An unknown channel is the first thing wrong with the call, whatever the body says.
      if (!(await findChannelById(ctx(), request.params.channelId))) throw new NotFoundError('channel', request.params.channelId);
      throw new ValidationError('channel_id', 'channel_id must be the channel of the webhook URL (or be left out)');
    }
    const message = await post(ctx(), {
      channelId: request.params.channelId,
      message: body.message,
      eventName: text(body.event_name),
      status: text(body.status),
      username: text(body.username),
      userId: text(body.user_id),
      threadId: text(body.thread_id),
      payload: body,
      source: 'webhook',
    });
    return reply.code(202).send({ status: 'success', status_code: 202, message: 'message accepted', data: { id: message.id } });
  });

  app.get<{ Params: { channelId: string }; Querystring: Record<string, string | string[]> }>('/v1/webhooks/:channelId', async (request, reply) => {
    const query = request.query ?? {};
    const one = (field: string) => {
      const v = query[field];
      if (Array.isArray(v)) throw new ValidationError(field, `${field} must be given once`);
      return v;
    };
    const messageText = one('message');
    if (!present(messageText)) throw new ValidationError('message', 'message is required');
    const message = await post(ctx(), {
      channelId: request.params.channelId,
      message: messageText!,
      eventName: one('event_name'),
      status: one('status'),
      username: one('username'),
      userId: one('user_id'),
      payload: query,
      source: 'webhook',
    });
    return reply.code(202).send({ status: 'success', status_code: 202, message: 'message accepted', data: { id: message.id } });
  });
};
