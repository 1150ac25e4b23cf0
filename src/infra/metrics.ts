/**
 * Prometheus metrics (prom-client), served at GET /metrics.
 *
 * One registry per app (not prom-client's global one) so several gateways can live in one process (tests)
 * without clashing names. buildApp puts it on `deps.metrics`; the owner of each path increments its own
 * metric:
 *
 *   deps.metrics.webhookMessages.inc({ outcome: 'accepted', source: 'webhook' })
 *   deps.metrics.modifierDuration.observe({ outcome: 'skipped' }, seconds)
 *   deps.metrics.modifierSkips.inc({ reason: 'timeout' })
 *   deps.metrics.deliveries.inc({ kind: 'output', outcome: 'success' })
 *   deps.metrics.tickLateness.observe(seconds)
 *   deps.metrics.jobStoreErrors.inc({ operation: 'schedule' })
 *
 * HTTP requests, WebSocket connections and subscriptions are counted here and in app.ts.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyInstance } from 'fastify';

/** Why a webhook message was not stored, as a bounded label set. */
export type RejectReason = 'validation' | 'not_found' | 'too_large' | 'unauthorised' | 'rate_limited' | 'error';
export type DeliveryKind = 'modifier' | 'output' | 'outgoing' | 'tick' | 'slack';
export type DeliveryOutcome = 'success' | 'failure' | 'retry_scheduled' | 'gave_up';

export function createMetrics() {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'switchboard' });
  collectDefaultMetrics({ register: registry });

  const httpRequests = new Counter({
    name: 'switchboard_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'switchboard_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route template',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const webhookMessages = new Counter({
    name: 'switchboard_webhook_messages_total',
    help: 'Messages posted to inbound webhooks, by outcome (accepted: stored; rejected: answered 4xx/5xx) and reason',
    labelNames: ['outcome', 'source', 'reason'] as const,
    registers: [registry],
  });
  const modifierDuration = new Histogram({
    name: 'switchboard_modifier_duration_seconds',
    help: 'Latency of modifier integration calls, by outcome (applied or skipped)',
    labelNames: ['outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [registry],
  });
  const modifierSkips = new Counter({
    name: 'switchboard_modifier_skips_total',
    help: 'Modifiers skipped (message went on unmodified), by reason: timeout, error, status, invalid_answer, blocked',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'switchboard_deliveries_total',
    help: 'Outbound delivery attempts, by kind (modifier, output, outgoing, tick, slack) and outcome',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const websocketConnections = new Gauge({
    name: 'switchboard_websocket_connections',
    help: 'Open graphql-ws WebSocket connections',
    registers: [registry],
  });
  const activeSubscriptions = new Gauge({
    name: 'switchboard_active_subscriptions',
    help: 'GraphQL subscriptions currently running, over WebSocket or SSE',
    labelNames: ['transport'] as const,
    registers: [registry],
  });
  const tickLateness = new Histogram({
    name: 'switchboard_tick_lateness_seconds',
    help: 'How late an interval integration tick ran compared to its scheduled time',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  });
  const tickMissedSlots = new Counter({
    name: 'switchboard_tick_missed_slots_total',
    help: 'Interval integration slots that passed while no replica ran them (each stretch is caught up by one tick), summed over (integration, channel) pairs',
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'switchboard_rate_limited_total',
    help: 'Requests, operations and connections refused by a rate limit or connection cap (429, graphql-ws 4429 or an operation error), by limit',
    labelNames: ['limit'] as const,
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'switchboard_auth_failures_total',
    help: 'Credentials that matched nothing (a token of no user, a wrong hook, return-URL or channel token)',
    registers: [registry],
  });
  const slowSubscribersClosed = new Counter({
    name: 'switchboard_slow_subscribers_closed_total',
    help: 'Subscribers closed because they stopped reading, by transport (websocket, sse) and reason (buffered: too many bytes waiting; stalled: nothing accepted for too long)',
    labelNames: ['transport', 'reason'] as const,
    registers: [registry],
  });
  const httpTimeouts = new Counter({
    name: 'switchboard_http_timeouts_total',
    help: 'HTTP connections cut because their request headers or body did not arrive in time (HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS)',
    registers: [registry],
  });
  const jobStoreErrors = new Counter({
    name: 'switchboard_job_store_errors_total',
    help: 'Errors raised by the job store (Agenda), by operation',
    labelNames: ['operation'] as const,
    registers: [registry],
  });

  return {
    registry,
    httpRequests,
    httpDuration,
    webhookMessages,
    modifierDuration,
    modifierSkips,
    deliveries,
    websocketConnections,
    activeSubscriptions,
    tickLateness,
    tickMissedSlots,
    jobStoreErrors,
    rateLimited,
    authFailures,
    slowSubscribersClosed,
    httpTimeouts,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Inbound message doors by route template, and the source label they count under. */
const INBOUND_ROUTES: [prefix: string, source: string][] = [
  ['/v1/webhooks/', 'webhook'],
  ['/v1/return/', 'return'],
  ['/hooks/', 'rocketchat'],
];

/** Why an inbound message was refused, from the status it was answered with. */
function rejectReason(status: number): RejectReason {
  if (status === 400 || status === 422) return 'validation';
  if (status === 401 || status === 403) return 'unauthorised';
  if (status === 404) return 'not_found';
  if (status === 413) return 'too_large';
  if (status === 429) return 'rate_limited';
  return 'error';
}

/**
 * Count every HTTP answer by its route template (never the raw URL: ids would explode the label set);
 * requests that matched no route are counted under "unmatched". Answers of the inbound message doors
 * also count as webhook messages: a 2xx is sent only once the message is stored (accepted), anything
 * else is a rejection.
 */
export function instrumentHttp(server: FastifyInstance, metrics: Metrics) {
  // A callback, not a promise: nothing here waits.
  server.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route };
    metrics.httpRequests.inc({ ...labels, status_code: String(reply.statusCode) });
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
    if (request.method !== 'POST' && request.method !== 'GET') return done();
    const inbound = INBOUND_ROUTES.find(([prefix]) => route.startsWith(prefix));
    if (!inbound) return done();
    const ok = reply.statusCode >= 200 && reply.statusCode < 300;
    metrics.webhookMessages.inc({ outcome: ok ? 'accepted' : 'rejected', source: inbound[1], reason: ok ? '' : rejectReason(reply.statusCode) });
    done();
  });
}
