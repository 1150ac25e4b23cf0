import type { FastifyPluginAsync } from 'fastify';
import type { RestOptions } from '../../rest/scope.js';

/**
 * Operational endpoints (not part of the Telex contract, no envelope, no authentication):
 * - GET /healthz: the process is alive and its event loop answers.
 * - GET /readyz: 200 when every dependency is reachable, else 503 naming what is down.
 * - GET /metrics: Prometheus text format.
 */
export const healthRoutes: FastifyPluginAsync<RestOptions> = async (app, { deps }) => {
  app.get('/healthz', { logLevel: 'warn' }, async (_request, reply) => {
    return reply.code(200).send({ status: 'ok', uptime_seconds: Math.round(process.uptime()) });
  });

  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    const report = await deps.readiness.report();
    return reply.code(report.ready ? 200 : 503).send({ status: report.ready ? 'ready' : 'unavailable', checks: report.checks });
  });

  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.code(200).header('content-type', deps.metrics.registry.contentType).send(body);
  });
};
