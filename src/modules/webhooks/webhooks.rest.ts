import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { NotFoundError, ValidationError } from '../../errors.js';
import { findChannelById } from '../channels/channels.service.js';
import type { RestOptions } from '../../rest/scope.js';
import { documentOnly, errorResponses, openEnvelope } from '../../rest/openapi.js';
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

const scalar = (description: string) => ({ anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }], description });
const FOUR = {
  event_name: scalar('What happened, e.g. `Uptime Check` (up to 255 characters).'),
  message: { type: 'string', description: "The text, up to 65536 characters; the channel's modifier integrations may change it before it is stored." },
  status: scalar('The outcome, e.g. `success` or `error` (up to 255 characters).'),
  username: scalar('The sender shown with the message (up to 255 characters).'),
};
const webhookParams = {
  type: 'object',
  required: ['channelId'],
  properties: { channelId: { type: 'string', description: "The channel's UUID: the webhook URL is the capability, no token is needed." } },
};
const accepted = {
  202: openEnvelope('Stored (after the modifier chain) and handed to outputs and subscribers; `data.id` is the message id.', {
    id: { type: 'string', description: 'The id of the stored message.' },
  }),
};
const webhookErrors = (codes: number[]) =>
  errorResponses(codes, {
    400: 'A required field is missing or empty (`errors` lists each), a field has the wrong type, `channel_id` names another channel, or the body is not valid JSON.',
    404: 'No channel has this id.',
  });
const WEBHOOK_SCHEMA = {
  tags: ['Webhooks'],
  security: [],
  params: webhookParams,
};

/**
 * Inbound webhooks, as Telex documents them: GET with query parameters, POST with a JSON body. The
 * channel id in the URL is the capability (no token). The answer (202 with the message id) is sent only
 * after the message is committed.
 */
export const webhooksRest: FastifyPluginAsync<RestOptions> = async (app, opts) => {
  // The channel id in the URL is the capability: no user behind these calls.
  const anonymous = (request: FastifyRequest) => opts.scope(request, {});

  const postSchema = {
    ...WEBHOOK_SCHEMA,
    operationId: 'postChannelWebhook',
    summary: 'Post a message to a channel through its webhook',
    description:
      'The channel webhook of Telex: any sender (monitoring tools, interval integrations reporting back) posts JSON here. `event_name`, `message`, ' +
      '`status` and `username` are required; the other documented fields (`channel_id`, `webhook_slug`, `action_type`, `status_code`, `user_id`, ' +
      '`org_id`, `thread_id`) are optional and type-checked when present; any other field is kept in the stored payload. The answer (202) comes once the message is stored.',
    body: {
      type: 'object',
      required: [...REQUIRED_WEBHOOK_FIELDS],
      additionalProperties: true,
      properties: {
        ...FOUR,
        channel_id: { type: 'string', description: 'When given, it must be the channel of the URL.' },
        webhook_slug: scalar('Kept in the payload.'),
        action_type: scalar('Kept in the payload.'),
        status_code: scalar('Kept in the payload (a number or its text).'),
        user_id: scalar("Stored as the message's userId."),
        org_id: scalar('Kept in the payload.'),
        thread_id: { type: 'string', description: 'Passed on to modifier integrations as `thread_id`.' },
      },
    },
    response: { ...accepted, ...webhookErrors([400, 404, 413, 415]) },
  };
  const getSchema = {
    ...WEBHOOK_SCHEMA,
    operationId: 'getChannelWebhook',
    summary: 'Post a message to a channel with query parameters',
    description: "The GET form of the channel webhook, for senders that can only fetch a URL: `message` is required, each parameter may be given once.",
    querystring: {
      type: 'object',
      required: ['message'],
      additionalProperties: true,
      properties: { ...FOUR, user_id: { type: 'string', description: "Stored as the message's userId." } },
    },
    response: { ...accepted, ...webhookErrors([400, 404]) },
  };

  app.post<{ Params: { channelId: string }; Body: unknown }>('/v1/webhooks/:channelId', { schema: postSchema, validatorCompiler: documentOnly }, async (request, reply) => {
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
      if (!(await findChannelById(await anonymous(request), request.params.channelId))) throw new NotFoundError('channel', request.params.channelId);
      throw new ValidationError('channel_id', 'channel_id must be the channel of the webhook URL (or be left out)');
    }
    const message = await post(await anonymous(request), {
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

  app.get<{ Params: { channelId: string }; Querystring: Record<string, string | string[]> }>('/v1/webhooks/:channelId', { schema: getSchema, validatorCompiler: documentOnly }, async (request, reply) => {
    const query = request.query ?? {};
    const one = (field: string) => {
      const v = query[field];
      if (Array.isArray(v)) throw new ValidationError(field, `${field} must be given once`);
      return v;
    };
    const messageText = one('message');
    if (!present(messageText)) throw new ValidationError('message', 'message is required');
    const message = await post(await anonymous(request), {
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
