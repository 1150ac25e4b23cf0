/**
 * Rate limits on every HTTP door (REST, Rocket.Chat, the inbound channel doors, GraphQL over HTTP and SSE), as
 * Fastify hooks around the app's `RateLimits` (src/infra/rate-limit.ts). In order, before anything is parsed:
 *
 * 1. every request counts against its address (health, readiness and metrics excepted);
 * 2. a request that carries credentials (Authorization, X-Auth-Token), or a capability door's token (an incoming
 *    hook's URL, a return URL's `token`, a custom channel's bearer), is refused outright while its address has
 *    failed authentication too often; then it counts against its token;
 * 3. a post to an inbound channel door counts against that channel, in posts and in body bytes (the announced
 *    Content-Length, or the bytes read for a chunked body);
 * 4. an SSE stream holds a place under the connection caps of its address and token while it is open.
 *
 * A refusal answers 429 with `Retry-After` in the door's own envelope: Telex's `{status, status_code, message}`,
 * Rocket.Chat's `{success: false, error}` on its API and hooks, GraphQL's `{errors: [{extensions: {code:
 * "RATE_LIMITED"}}]}`. Failed authentications are reported by openScope (a token of no user) and, for the
 * capability doors whose tokens their services check, by the answer (incoming hook 404, return URL 403, custom
 * channel 401).
 */
import { Transform } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BackpressureConfig } from '../config.js';
import { boundEventStream } from '../infra/backpressure.js';
import type { Metrics } from '../infra/metrics.js';
import { firstRefusal, isRefusal, tokenKey, type RateLimits, type Refusal, type Verdict } from '../infra/rate-limit.js';
import type { Logger } from 'pino';

/** Routes never limited: probes and scrapes come often, from few addresses, and must not be refused. */
const EXEMPT = new Set(['/healthz', '/readyz', '/metrics']);

/** Whether requests to this route (its template) can be answered 429. */
export const rateLimitedRoute = (url: string) => !EXEMPT.has(url);

/** The 429 answer as the OpenAPI document shows it, in the envelope of the door at `url`. */
export function tooManyRequestsResponse(url: string, telexEnvelope: object) {
  const rocketChat = url.startsWith('/api/v1/') || url.startsWith('/hooks/');
  const schema = rocketChat
    ? { type: 'object', additionalProperties: true, properties: { success: { type: 'boolean', enum: [false] }, error: { type: 'string' }, errorType: { type: 'string', enum: ['error-too-many-requests'] } } }
    : telexEnvelope;
  return {
    description:
      'Too many requests: a rate limit of this address, token or channel is spent (README, "Rate limits"). `Retry-After` says in how many seconds to try again.',
    headers: { 'retry-after': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } } },
    content: { 'application/json': { schema } },
  };
}

interface InboundDoor {
  /** The channel (or hook) the post is counted against. */
  channel(request: FastifyRequest, credential: string | null): string | null;
  /** The door's own token (checked by its service), when the request carries one. */
  capability?(request: FastifyRequest, credential: string | null): string | null;
  /** The answers that mean that token was wrong. */
  failures?: number[];
}

const param = (request: FastifyRequest, name: string) => (request.params as Record<string, string | undefined>)[name] ?? null;
const query = (request: FastifyRequest, name: string) => {
  const v = (request.query as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : null;
};
const customChannel: InboundDoor = {
  channel: (_r, credential) => (credential ? `custom:${tokenKey(credential)}` : null),
  capability: (_r, credential) => credential,
  failures: [401],
};
const INBOUND: Record<string, InboundDoor> = {
  '/v1/webhooks/:channelId': { channel: (r) => `channel:${param(r, 'channelId')}` },
  '/v1/return/:channelId': { channel: (r) => `channel:${param(r, 'channelId')}`, capability: (r) => query(r, 'token'), failures: [403] },
  '/hooks/:integrationId/:token': { channel: (r) => `hook:${param(r, 'integrationId')}`, capability: (r) => param(r, 'token'), failures: [404] },
  '/custom/channel/webhook': customChannel,
  '/custom/channel/webhook/': customChannel,
};

const header = (request: FastifyRequest, name: string) => {
  const v = request.headers[name];
  return (Array.isArray(v) ? v[0] : v) || null;
};

/** The credential a request presents, whatever the door does with it: a Bearer (or bare) token, Basic's, or X-Auth-Token. */
function presentedCredential(request: FastifyRequest): string | null {
  const xAuth = header(request, 'x-auth-token');
  if (xAuth) return xAuth;
  const authorization = header(request, 'authorization');
  if (!authorization) return null;
  const match = /^\s*(?:(?:bearer|basic)\s+)?(\S+)\s*$/i.exec(authorization);
  return match ? match[1]! : authorization;
}

/** The 429 answer in the envelope of the door the request came to. */
export function sendRefusal(request: FastifyRequest, reply: FastifyReply, refusal: Refusal) {
  const url = request.routeOptions.url ?? request.url;
  void reply.code(429).header('retry-after', String(refusal.retryAfterSeconds));
  if (url.startsWith('/graphql')) {
    return reply.send({ errors: [{ message: refusal.message, extensions: { code: 'RATE_LIMITED', limit: refusal.limit, retryAfter: refusal.retryAfterSeconds } }] });
  }
  if (url.startsWith('/api/v1/') || url.startsWith('/hooks/')) {
    // Rocket.Chat's own answer to its rate limiter.
    return reply.send({ success: false, error: `Error, too many requests. Please slow down. ${refusal.message}. [error-too-many-requests]`, errorType: 'error-too-many-requests' });
  }
  return reply.send({ status: 'error', status_code: 429, message: refusal.message });
}

/** A callback hook's end once `verdict` is known: a refusal is the answer (the request goes no further), else on. */
function settle(verdict: Verdict, request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) {
  const answer = (refusal: Refusal | null) => (refusal ? void sendRefusal(request, reply, refusal) : done());
  if (verdict instanceof Promise) verdict.then(answer, done);
  else answer(verdict);
}

interface Pending {
  channel: string;
  counted?: { bytes: number };
}

/**
 * Register the limits on `server` (after the request-id hook, so a 429 carries its x-request-id), and the SSE
 * backpressure bound on every event-stream answer.
 */
export function limitHttp(server: FastifyInstance, limits: RateLimits, backpressure: BackpressureConfig, metrics: Metrics, logger: Logger) {
  const chunked = new WeakMap<FastifyRequest, Pending>();

  // A callback, not an async hook: with limits in memory every check answers at once, and a request costs no promise here.
  server.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url;
    if (route && EXEMPT.has(route)) return done();
    const address = request.ip;
    const credential = presentedCredential(request);
    const inbound = route ? INBOUND[route] : undefined;
    // The request's windows go in one check: on Redis, one round trip for all of them.
    const spends = [limits.perAddress(address)];
    if (credential || inbound?.capability?.(request, credential)) spends.push(limits.blockedAddress(address));
    if (credential) spends.push(limits.perToken(credential));
    const channel = inbound?.channel(request, credential);
    if (channel) {
      const length = Number(request.headers['content-length']);
      spends.push(...limits.perChannel(channel, Number.isSafeInteger(length) ? length : 0));
      if (!request.headers['content-length'] && request.headers['transfer-encoding']) chunked.set(request, { channel });
    }
    const checks: (() => Verdict)[] = [() => limits.check(spends)];
    if (route === '/graphql' && String(request.headers.accept ?? '').includes('text/event-stream')) {
      checks.push(async () => {
        const lease = await limits.openConnection(address, credential);
        if (isRefusal(lease)) return lease;
        reply.raw.once('close', () => lease.release());
        return null;
      });
    }
    settle(firstRefusal(checks), request, reply, done);
  });

  // The hooks below do nothing for most requests: they take a callback, not a promise, so those cost no
  // promise (each of which async context tracking also pays for).
  // A chunked body announces no length: its bytes are counted as they are read, and charged before the handler.
  server.addHook('preParsing', (request, _reply, payload, done) => {
    const pending = chunked.get(request);
    if (!pending) return done(null, payload);
    const counted = { bytes: 0 };
    pending.counted = counted;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        counted.bytes += chunk.length;
        done(null, chunk);
      },
    });
    payload.on('error', (error) => counter.destroy(error));
    done(null, payload.pipe(counter));
  });
  server.addHook('preHandler', (request, reply, done) => {
    const pending = chunked.get(request);
    if (!pending?.counted) return done();
    settle(limits.check([limits.channelBytes(pending.channel, pending.counted.bytes)]), request, reply, done);
  });

  // The capability doors' wrong tokens are failed authentications of their address.
  server.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url;
    const inbound = route ? INBOUND[route] : undefined;
    if (!inbound?.failures?.includes(reply.statusCode) || !inbound.capability?.(request, presentedCredential(request))) return done();
    limits.authFailed(request.ip).then(() => done(), done);
  });

  server.addHook('onSend', (_request, reply, payload, done) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/event-stream')) boundEventStream(reply.raw, backpressure, metrics, logger);
    done(null, payload);
  });
}
