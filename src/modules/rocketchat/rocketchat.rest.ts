import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, ValidationError } from '../../errors.js';
import type { RestOptions } from '../../rest/scope.js';
import type { Scope } from '../../context.js';
import { receiveIncoming } from './incoming.service.js';
import {
  createWebhookIntegration,
  getWebhookIntegration,
  listWebhookIntegrations,
  recoverWebhookIntegration,
  removeWebhookIntegration,
  replayWebhookIntegrationRun,
  rocketChatViewer,
  updateWebhookIntegration,
  webhookIntegrationHistory,
} from './management.service.js';
import {
  historyToRocketChat,
  incomingFailure,
  integrationToRocketChat,
  INTERNAL_ERROR_BODY,
  malformedRequestFailure,
  managementFailure,
  type Failure,
} from './rocketchat.shapes.js';

const header = (request: FastifyRequest, name: string) => {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

const send = (reply: FastifyReply, failure: Failure) => reply.code(failure.status).send(failure.body);

/** Rocket.Chat's error bodies for domain errors; anything else goes to the app's error handler. */
function rocketChatError(error: unknown, reply: FastifyReply) {
  const failure = managementFailure(error);
  if (!failure) throw error;
  return send(reply, failure);
}

const AUTH = ' Authenticate with X-Auth-Token (a Switchboard access token) and X-User-Id (its user\'s id); failures answer Rocket.Chat\'s bodies.';

/** Rocket.Chat's failure body, `{success: false, error, errorType?}` (extra fields are sent, not dropped). */
const RC_FAILURE = {
  type: 'object',
  additionalProperties: true,
  properties: {
    success: { type: 'boolean', enum: [false] },
    // No type: an incoming script's refusal answers its own `error`, which may be an object, and the schema must not coerce it.
    error: {
      description:
        "What went wrong: text with Rocket.Chat's error code in brackets where it has one (`[invalid-params]`), or on an incoming webhook whatever `error` its script answered (text or an object).",
    },
    errorType: { type: 'string', description: 'Rocket.Chat\'s error code: invalid-params, error-invalid-channel, error-invalid-integration.' },
  },
} as const;
/** Rocket.Chat's answer to a request without valid X-Auth-Token/X-User-Id. */
const RC_UNAUTHORIZED = {
  type: 'object',
  additionalProperties: true,
  properties: { status: { type: 'string', enum: ['error'] }, message: { type: 'string', enum: ['You must be logged in to do this.'] } },
} as const;
const RC_TEXT: Record<number, string> = {
  400: 'Invalid parameters (`errorType: invalid-params`, the message names the field), an unknown #channel (`error-invalid-channel`), a script that does not compile, or a malformed body.',
  401: 'X-Auth-Token and X-User-Id are missing or do not match a valid token: `{status: "error", message: "You must be logged in to do this."}`.',
  403: 'Your role in the organisation does not allow managing this kind of integration.',
  404: 'No such integration among those you may manage (`error-invalid-integration`).',
  413: 'The request body is larger than the limit (WEBHOOK_MAX_BYTES, 1 MiB by default).',
  415: 'The body is of a content type Rocket.Chat does not take (JSON, a form, or text).',
  503: 'The integration is disabled.',
};
const rcResponses = (codes: number[], text: Partial<Record<number, string>> = {}) =>
  Object.fromEntries(codes.map((c) => [c, { description: text[c] ?? RC_TEXT[c], ...(c === 401 ? RC_UNAUTHORIZED : RC_FAILURE) }]));

/** Documentation only (Rocket.Chat's own validation messages are produced by the service). */
const doc = (operationId: string, summary: string, description: string, errors: number[], rc = true, text: Partial<Record<number, string>> = {}) => ({
  schema: {
    tags: [rc ? 'Rocket.Chat integrations' : 'Rocket.Chat incoming webhooks'],
    operationId,
    summary,
    description: rc ? description + AUTH : description,
    security: [],
    response: rcResponses(rc ? [401, ...errors] : errors, text),
  },
});

function formOrJson(request: FastifyRequest): { content: unknown; raw?: string } {
  if (request.method === 'GET') return { content: request.query ?? {} };
  return { content: request.body ?? {}, raw: (request as { rawForm?: string }).rawForm };
}

/**
 * Rocket.Chat's integrations REST API (`/api/v1/integrations.*`) and its incoming webhook URL
 * (`/hooks/{integrationId}/{token}`). (Outgoing integrations are wired to the app's domain events by
 * buildApp.)
 */
export const rocketChatRest: FastifyPluginAsync<RestOptions> = async (app, opts) => {
  // Failures outside the services (malformed JSON, a body over the size limit) in Rocket.Chat's shape too.
  app.setErrorHandler((error, request, reply) => {
    if (error instanceof DomainError) return rocketChatError(error, reply);
    const status = typeof (error as { statusCode?: number }).statusCode === 'number' ? (error as { statusCode: number }).statusCode : 500;
    if (status >= 400 && status < 500) return send(reply, malformedRequestFailure(status, error as Error & { code?: string }));
    request.log.error({ err: error }, 'unexpected error');
    return reply.code(500).send(INTERNAL_ERROR_BODY);
  });

  // Rocket.Chat senders often post a form with one `payload` field holding the JSON (Slack's format).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (request, body, done) => {
    const form = new URLSearchParams(body as string);
    const payload = form.get('payload');
    (request as { rawForm?: string }).rawForm = body as string;
    if (payload === null) {
      done(null, Object.fromEntries(form));
      return;
    }
    try {
      done(null, JSON.parse(payload));
    } catch {
      done(new ValidationError('payload', 'payload must be a JSON object') as never, undefined);
    }
  });

  /** Rocket.Chat's credentials: X-Auth-Token, and X-User-Id naming the token's own user; both required. */
  async function rcScope(request: FastifyRequest): Promise<Scope> {
    const scope = await opts.scope(request, { token: header(request, 'x-auth-token'), userId: header(request, 'x-user-id') ?? '' });
    rocketChatViewer(scope);
    return scope;
  }

  const route = (handler: (scope: Scope, request: FastifyRequest) => Promise<Record<string, unknown>>) => async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      const scope = await rcScope(request);
      const body = await handler(scope, request);
      return reply.code(200).send({ ...body, success: true });
    } catch (error) {
      return rocketChatError(error, reply);
    }
  };

  app.post(
    '/api/v1/integrations.create',
    doc(
      'createRocketChatIntegration',
      'Create an incoming or outgoing webhook integration',
      'Body as Rocket.Chat documents it (type, username, channel, scriptEnabled, name, enabled; event and urls for outgoing). `channel` names #channels of one organisation: X-Organisation-Id picks it when you belong to several.',
      [400, 403, 404, 413, 415],
      true,
      { 404: 'The organisation named by X-Organisation-Id is not one of yours.' },
    ),
    route(async (scope, request) => {
      const managed = await createWebhookIntegration(scope, request.body, header(request, 'x-organisation-id'));
      return { integration: integrationToRocketChat(managed) };
    }),
  );

  app.get(
    '/api/v1/integrations.list',
    doc('listRocketChatIntegrations', 'List the integrations you may manage', 'Query: offset, count (at most 100), name (substring), type. Newest first.', [400]),
    route(async (scope, request) => {
      const q = request.query as Record<string, unknown>;
      const page = await listWebhookIntegrations(scope, q);
      const integrations = page.integrations.map(integrationToRocketChat);
      return { integrations, offset: page.offset, items: integrations.length, total: page.total };
    }),
  );

  app.get(
    '/api/v1/integrations.get',
    doc('getRocketChatIntegration', 'Get one integration', 'Query: integrationId.', [400, 404]),
    route(async (scope, request) => {
      const q = request.query as Record<string, unknown>;
      const managed = await getWebhookIntegration(scope, q.integrationId);
      return { integration: integrationToRocketChat(managed) };
    }),
  );

  app.put(
    '/api/v1/integrations.update',
    doc(
      'updateRocketChatIntegration',
      'Update an integration',
      'Body: type and integrationId, plus the fields to change (absent fields keep their value). A script with a syntax error is refused.',
      [400, 403, 404, 413, 415],
    ),
    route(async (scope, request) => {
      const managed = await updateWebhookIntegration(scope, request.body);
      return { integration: integrationToRocketChat(managed) };
    }),
  );

  app.post(
    '/api/v1/integrations.remove',
    doc('removeRocketChatIntegration', 'Remove an integration', 'Body: type and integrationId.', [400, 403, 404, 413, 415]),
    route(async (scope, request) => {
      const managed = await removeWebhookIntegration(scope, request.body);
      return { integration: integrationToRocketChat(managed) };
    }),
  );

  app.get(
    '/api/v1/integrations.history',
    doc(
      'getRocketChatIntegrationHistory',
      "An integration's run history",
      'Query: id, offset, count. Every outgoing call, and every incoming call that ran a script or failed, newest first.',
      [400, 404],
    ),
    route(async (scope, request) => {
      const page = await webhookIntegrationHistory(scope, request.query as Record<string, unknown>);
      return { history: page.history.map(historyToRocketChat), offset: page.offset, items: page.history.length, total: page.total };
    }),
  );

  app.post(
    '/api/v1/integrations.replay',
    doc(
      'replayRocketChatIntegrationRun',
      'Send a run\'s outgoing call again',
      'Body: integrationId, historyId (a run of integrations.history that made an HTTP call). The call is sent again now, once, with the body and headers it was sent with (the prepare script is not run again); the answer is the new run, whose `replayOf` is the run given and whose `deliveryId` is the new attempt. Organisation admins and owners only (Rocket.Chat\'s Replay button).',
      [400, 403, 404, 413, 415],
      true,
      {
        400: 'A missing integrationId or historyId (`invalid-params`), an incoming integration, a run that made no HTTP call, a call still pending, or one stored with another SWITCHBOARD_SECRET_KEY.',
        403: 'Only admins and owners of the organisation may send calls again.',
        404: 'No such integration among those you may manage, or no such run of it.',
      },
    ),
    route(async (scope, request) => {
      const run = await replayWebhookIntegrationRun(scope, request.body);
      return { history: historyToRocketChat(run) };
    }),
  );

  app.post(
    '/api/v1/integrations.recover',
    doc(
      'recoverRocketChatIntegration',
      'Send again the outgoing calls that failed since a time',
      'Body: integrationId, since (ISO-8601). Every call of the integration (all its URLs and channels) whose last attempt failed at or after `since`, and none of whose attempts succeeded or is pending, is sent again once, oldest first, at most 1,000 a request (`remaining` counts the rest). Answers the new runs. Organisation admins and owners only.',
      [400, 403, 404, 413, 415],
      true,
      { 400: 'A missing integrationId, a `since` that is not an ISO-8601 time or is in the future, or an incoming integration.', 403: 'Only admins and owners of the organisation may send calls again.' },
    ),
    route(async (scope, request) => {
      const { history, remaining } = await recoverWebhookIntegration(scope, request.body);
      return { history: history.map(historyToRocketChat), count: history.length, remaining };
    }),
  );

  const incoming = async (request: FastifyRequest<{ Params: { integrationId: string; token: string } }>, reply: FastifyReply) => {
    const { content, raw } = formOrJson(request);
    try {
      // The URL's token is the credential (checked by the service), not a user's.
      await receiveIncoming(
        await opts.scope(request, {}),
        {
          integrationId: request.params.integrationId,
          token: request.params.token,
          method: request.method,
          url: request.url,
          headers: request.headers as Record<string, unknown>,
          query: (request.query ?? {}) as Record<string, unknown>,
          content,
          rawBody: raw,
        },
      );
      return reply.code(200).send({ success: true });
    } catch (error) {
      const failure = incomingFailure(error);
      if (!failure) throw error;
      return send(reply, failure);
    }
  };
  const HOOK_TEXT = {
    400: 'The script refused the request or failed, the message is invalid (`invalid-params`), or the body is malformed.',
    404: '`Invalid integration id or token provided.`: no incoming integration has this id and token.',
  };
  const hookDoc = (operationId: string, errors: number[]) =>
    doc(
      operationId,
      'Post through an incoming webhook integration',
      'JSON `{text, alias, emoji, avatar, attachments}`, a form with one `payload` JSON field, or (GET) query parameters. The URL token authenticates: wrong id or token 404, disabled 503.',
      errors,
      false,
      HOOK_TEXT,
    );
  app.post('/hooks/:integrationId/:token', hookDoc('postRocketChatIncomingWebhook', [400, 404, 413, 415, 503]), incoming);
  app.get('/hooks/:integrationId/:token', hookDoc('getRocketChatIncomingWebhook', [400, 404, 503]), incoming);
};
