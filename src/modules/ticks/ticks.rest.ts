import type { FastifyPluginAsync } from 'fastify';
import { ValidationError } from '../../errors.js';
import type { RestOptions } from '../../rest/scope.js';
import { authenticate, bearerToken } from '../auth/auth.service.js';
import { receiveReturn } from './ticks.service.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The return URL interval integrations post back to (`/v1/return/{channel_id}`, Telex's form): JSON
 * `{message, username, event_name, status}` by POST, or the same four as GET query parameters. The
 * answer (202 with the message id) is sent once the message is stored.
 */
export const ticksRest: FastifyPluginAsync<RestOptions> = async (app, opts) => {
  const ctx = () => ({ em: opts.orm.em.fork(), deps: opts.deps });
  const single = (query: Record<string, string | string[] | undefined>, field: string) => {
    const v = query[field];
    if (Array.isArray(v)) throw new ValidationError(field, `${field} must be given once`);
    return v;
  };

  app.post<{ Params: { channelId: string }; Querystring: Record<string, string | string[]>; Body: unknown }>('/v1/return/:channelId', async (request, reply) => {
    if (!isRecord(request.body)) throw new ValidationError('body', 'the body must be a JSON object');
    const message = await receiveReturn(ctx(), {
      channelId: request.params.channelId,
      token: single(request.query ?? {}, 'token'),
      fields: request.body,
    });
    return reply.code(202).send({ status: 'success', status_code: 202, message: 'message accepted', data: { id: message.id } });
  });

  app.get<{ Params: { channelId: string }; Querystring: Record<string, string | string[]> }>('/v1/return/:channelId', async (request, reply) => {
    const query = request.query ?? {};
    const fields: Record<string, unknown> = {};
    for (const f of ['message', 'username', 'event_name', 'status']) {
      const v = single(query, f);
      if (v !== undefined) fields[f] = v;
    }
    const message = await receiveReturn(ctx(), { channelId: request.params.channelId, token: single(query, 'token'), fields });
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
      dash.addHook('onRequest', async (request, reply) => {
        const token = adminCredential(request.headers.authorization);
        const viewer = token ? await authenticate(opts.orm.em.fork(), token) : null;
        if (!viewer) {
          return reply
            .code(401)
            .header('www-authenticate', 'Basic realm="Switchboard jobs", charset="UTF-8"')
            .send({ status: 'error', status_code: 401, message: 'Authentication required: an administrator token (Bearer, or Basic with the token as password)' });
        }
        if (!viewer.isAdmin) return reply.code(403).send({ status: 'error', status_code: 403, message: 'Only an administrator can see the job store' });
      });
      await dash.register(createFastifyPlugin(opts.deps.scheduler.agenda));
    },
    { prefix: '/admin/jobs' },
  );
};

/** The token from `Bearer <token>` or from the password of `Basic base64(user:token)`. */
function adminCredential(header: string | undefined): string | null {
  if (!header) return null;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!basic) return bearerToken(header);
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && decoded.length > colon + 1 ? decoded.slice(colon + 1) : null;
}
