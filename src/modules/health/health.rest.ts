import type { FastifyPluginAsync } from 'fastify';
import type { RestOptions } from '../../rest/scope.js';

/**
 * Operational endpoints (not part of the Telex contract, no envelope, no authentication):
 * - GET /healthz: the process is alive and its event loop answers.
 * - GET /readyz: 200 when every dependency is reachable, else 503 naming what is down.
 * - GET /metrics: Prometheus text format.
 */
export const healthRoutes: FastifyPluginAsync<RestOptions> = async (app, { deps }) => {
  const probe = { tags: ['Operations'], security: [] };
  const healthz = {
    ...probe,
    operationId: 'getLiveness',
    summary: 'Liveness: the process is alive',
    description: 'Answers 200 `{status: "ok", uptime_seconds}` while the event loop answers; it checks no dependency (see /readyz). No authentication; it has no failure answer of its own.',
    response: { 200: { description: 'Alive.', type: 'object', additionalProperties: true, properties: { status: { type: 'string', enum: ['ok'] }, uptime_seconds: { type: 'integer' } } } },
  };
  const readyz = {
    ...probe,
    operationId: 'getReadiness',
    summary: 'Readiness: every dependency is reachable',
    description: 'Checks each dependency (database, Redis when configured, job store): 200 `{status: "ready", checks}` when all answer, 503 `{status: "unavailable", checks}` naming what is down. No authentication.',
    response: {
      200: { description: 'Ready: every check passed.', type: 'object', additionalProperties: true, properties: { status: { type: 'string', enum: ['ready'] }, checks: { type: 'object', additionalProperties: true } } },
      503: { description: 'Not ready: `checks` names the dependency that is down.', type: 'object', additionalProperties: true, properties: { status: { type: 'string', enum: ['unavailable'] }, checks: { type: 'object', additionalProperties: true } } },
    },
  };
  const metricsDoc = {
    ...probe,
    operationId: 'getMetrics',
    summary: 'Prometheus metrics',
    description: 'The process and gateway metrics (HTTP requests, deliveries, WebSocket connections, ...) in the Prometheus text format. No authentication.',
    response: { 200: { description: 'The metrics, as Prometheus text.', content: { 'text/plain': { schema: { type: 'string' } } } } },
  };

  app.get('/healthz', { logLevel: 'warn', schema: healthz }, async (_request, reply) => {
    return reply.code(200).send({ status: 'ok', uptime_seconds: Math.round(process.uptime()) });
  });

  app.get('/readyz', { logLevel: 'warn', schema: readyz }, async (_request, reply) => {
    const report = await deps.readiness.report();
    return reply.code(report.ready ? 200 : 503).send({ status: report.ready ? 'ready' : 'unavailable', checks: report.checks });
  });

  app.get('/metrics', { logLevel: 'warn', schema: metricsDoc }, async (_request, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.code(200).header('content-type', deps.metrics.registry.contentType).send(body);
  });
};
