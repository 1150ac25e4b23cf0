import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ValidationError } from '../../errors.js';
import { documentOnly, errorResponses, openEnvelope } from '../../rest/openapi.js';
import type { RestOptions } from '../../rest/scope.js';
import { bearerToken } from '../auth/auth.service.js';
import { withoutSql } from '../../infra/logger.js';
import { receiveReturn } from './ticks.service.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const RETURN_FIELDS = {
  message: { type: 'string', description: 'The text to post (required, not blank).' },
  username: { type: 'string', description: "The sender shown; default: the integration's bot name when the token names it." },
  event_name: { type: 'string', description: 'What happened, e.g. the report\'s title.' },
  status: { type: 'string', description: 'The outcome, e.g. `success` or `error`.' },
};
const returnSchema = {
  tags: ['Interval integrations'],
  security: [],
  params: {
    type: 'object',
    required: ['channelId'],
    properties: { channelId: { type: 'string', description: 'The UUID of the channel the tick was for (from the return_url).' } },
  },
  querystring: {
    type: 'object',
    additionalProperties: true,
    properties: {
      token: {
        type: 'string',
        description: 'The token of the return_url, as handed out in the tick: when present it must be the one issued for an integration switched on for this channel (else 403), and the message is posted as that integration.',
      },
    },
  },
  response: {
    202: openEnvelope('Stored as a `tick` message; `data.id` is the message id.', { id: { type: 'string', description: 'The id of the stored message.' } }),
    ...errorResponses([400, 403, 404], {
      400: '`message` is missing or blank, a field has the wrong type or is given twice, or the body is not a JSON object.',
      403: 'The token is not valid for this channel, or its integration is no longer switched on for it.',
      404: 'No channel has this id.',
    }),
  },
};

/**
 * The return URL interval integrations post back to (`/v1/return/{channel_id}`, Telex's form): JSON
 * `{message, username, event_name, status}` by POST, or the same four as GET query parameters. The
 * answer (202 with the message id) is sent once the message is stored.
 */
export const ticksRest: FastifyPluginAsync<RestOptions> = async (app, opts) => {
  // The channel id in the URL is the capability: no user behind these calls.
  const anonymous = (request: FastifyRequest) => opts.scope(request, {});
  const single = (query: Record<string, string | string[] | undefined>, field: string) => {
    const v = query[field];
    if (Array.isArray(v)) throw new ValidationError(field, `${field} must be given once`);
    return v;
  };

  const postSchema = {
    ...returnSchema,
    operationId: 'postTickReturn',
    summary: "An interval integration's post-back to its return_url",
    description:
      'Where an interval integration posts what its tick produced (Telex\'s `/v1/return/{channel_id}`): JSON `{message, username, event_name, status}`; other fields are ignored. The answer (202) comes once the message is stored.',
    body: { type: 'object', required: ['message'], additionalProperties: true, properties: RETURN_FIELDS },
    response: { ...returnSchema.response, ...errorResponses([413, 415]) },
  };
  const getSchema = {
    ...returnSchema,
    operationId: 'getTickReturn',
    summary: "An interval integration's post-back, as query parameters",
    description: 'The GET form of the return URL: `message`, `username`, `event_name` and `status` as query parameters, each at most once.',
    querystring: { ...returnSchema.querystring, required: ['message'], properties: { ...returnSchema.querystring.properties, ...RETURN_FIELDS } },
  };

  app.post<{ Params: { channelId: string }; Querystring: Record<string, string | string[]>; Body: unknown }>('/v1/return/:channelId', { schema: postSchema, validatorCompiler: documentOnly }, async (request, reply) => {
    if (!isRecord(request.body)) throw new ValidationError('body', 'the body must be a JSON object');
    const message = await receiveReturn(await anonymous(request), {
      channelId: request.params.channelId,
      token: single(request.query ?? {}, 'token'),
      fields: request.body,
    });
    return reply.code(202).send({ status: 'success', status_code: 202, message: 'message accepted', data: { id: message.id } });
  });

  app.get<{ Params: { channelId: string }; Querystring: Record<string, string | string[]> }>('/v1/return/:channelId', { schema: getSchema, validatorCompiler: documentOnly }, async (request, reply) => {
    const query = request.query ?? {};
    const fields: Record<string, unknown> = {};
    for (const f of ['message', 'username', 'event_name', 'status']) {
      const v = single(query, f);
      if (v !== undefined) fields[f] = v;
    }
    const message = await receiveReturn(await anonymous(request), { channelId: request.params.channelId, token: single(query, 'token'), fields });
    return reply.code(202).send({ status: 'success', status_code: 202, message: 'message accepted', data: { id: message.id } });
  });
};

/**
 * Agendash, the job store's view (every job, its next and last run, failures; requeue and delete),
 * at /admin/jobs for administrators only. Browsers get a Basic prompt: any user name, an admin's access
 * token as the password; API clients may send `Authorization: Bearer <token>`.
 */
export const jobsDashboardRest: FastifyPluginAsync<RestOptions> = async (app, opts) => {
  const { createFastifyPlugin } = await import('agendash');
  await app.register(
    async (dash) => {
      // Agendash's routes carry no schema: document each one (operationId, summary, who may call) as it is added.
      dash.addHook('onRoute', (route) => {
        if (route.schema?.hide) return;
        const path = route.url.replace(/^\/admin\/jobs/, '') || '/';
        const method = [route.method].flat()[0];
        const doc = DASHBOARD_OPERATIONS[`${method} ${path}`];
        route.schema = {
          ...route.schema,
          tags: ['Jobs dashboard'],
          operationId: doc?.[0] ?? `jobsDashboard${`${method} ${path}`.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : '')).replace(/^./, (c) => c.toUpperCase())}`,
          summary: doc?.[1] ?? `Agendash: ${method} ${path}`,
          description: `${doc?.[1] ?? 'Agendash'}. Administrators only: \`Authorization: Bearer <admin token>\`, or Basic with the token as password (browsers are prompted).`,
          response: {
            ...(route.schema?.response as object),
            ...errorResponses([401, 403], {
              401: 'No credentials, or not a valid token (Bearer, or Basic with the token as password); browsers get a Basic prompt.',
              403: 'The token is valid but its user is not an administrator.',
            }),
            ...(doc?.[2] ? { [doc[2]]: { description: "Agendash refused the request (bad query or body, unknown job ids): Agendash's own `{error}`.", ...AGENDASH_ERROR } } : {}),
          },
        };
      });
      dash.addHook('onRequest', async (request, reply) => {
        const { viewer } = await opts.scope(request, { token: adminCredential(request.headers.authorization) });
        if (!viewer) {
          return reply
            .code(401)
            .header('www-authenticate', 'Basic realm="Switchboard jobs", charset="UTF-8"')
            .send({ status: 'error', status_code: 401, message: 'Authentication required: an administrator token (Bearer, or Basic with the token as password)' });
        }
        if (!viewer.isAdmin) return reply.code(403).send({ status: 'error', status_code: 403, message: 'Only an administrator can see the job store' });
      });
      // Agendash answers a failure with the error's message, which for the SQL job stores is the failing
      // statement with its values: answer (and log) the driver's message only.
      dash.addHook('onSend', async (request, reply, payload) => {
        if (reply.statusCode < 400 || typeof payload !== 'string' || !payload.startsWith('{')) return payload;
        try {
          const body = JSON.parse(payload) as { error?: unknown };
          if (typeof body.error !== 'string') return payload;
          const error = withoutSql(body.error);
          request.log.warn({ statusCode: reply.statusCode }, `jobs dashboard refused: ${error}`);
          return error === body.error ? payload : JSON.stringify({ ...body, error });
        } catch {
          return payload;
        }
      });
      await dash.register(createFastifyPlugin(opts.deps.scheduler.agenda));
    },
    { prefix: '/admin/jobs' },
  );
};

/** Agendash's routes (method and path under /admin/jobs): operationId, summary, and the 4xx Agendash itself answers. */
const DASHBOARD_OPERATIONS: Record<string, [string, string, number?]> = {
  'GET /': ['jobsDashboardPage', 'The job store dashboard (HTML page)'],
  'GET /api': ['listJobs', 'Jobs of the store with their next and last run, filtered and paged', 400],
  'POST /api/jobs/requeue': ['requeueJobs', 'Requeue jobs (by id) to run now', 404],
  'POST /api/jobs/retry': ['retryJobs', 'Retry failed jobs (by id)', 404],
  'POST /api/jobs/delete': ['deleteJobs', 'Delete jobs (by id)', 404],
  'POST /api/jobs/create': ['createJob', 'Create a job', 400],
  'POST /api/jobs/pause': ['pauseJobs', 'Pause jobs (by id)', 400],
  'POST /api/jobs/resume': ['resumeJobs', 'Resume paused jobs (by id)', 400],
  'GET /api/stats': ['jobStats', 'Counts of jobs by state'],
  'GET /api/events': ['jobEvents', 'Live job events (server-sent events)'],
};

const AGENDASH_ERROR = { type: 'object', additionalProperties: true, properties: { error: { type: 'string' } } };

/** The token from `Bearer <token>` or from the password of `Basic base64(user:token)`. */
function adminCredential(header: string | undefined): string | null {
  if (!header) return null;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!basic) return bearerToken(header);
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && decoded.length > colon + 1 ? decoded.slice(colon + 1) : null;
}
