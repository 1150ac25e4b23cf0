/**
 * Rate limits and connection caps on the graphql-ws door (src/infra/rate-limit.ts has the limits themselves):
 *
 * - each WebSocket connection counts as a request of its address, and holds a place under its address's cap
 *   (RATE_LIMIT_SOCKETS_PER_ADDRESS) while open; once `connection_init` names a token, under that token's cap
 *   too (RATE_LIMIT_SOCKETS_PER_TOKEN), after the same failed-authentication check and token rate as HTTP;
 *   a connection refused by any of these is closed with 4429 and the limit's message as reason (4429 is
 *   graphql-ws's "Too many requests" code; its clients do not retry it on their own);
 * - each operation (`subscribe` message) counts as a request of its address and token, and a socket runs at most
 *   RATE_LIMIT_SUBSCRIPTIONS_PER_SOCKET operations at once: one over a limit is answered with an `error` message
 *   for that operation (`extensions.code: "RATE_LIMITED"`) and the socket stays open;
 * - every frame written to the socket is bounded by SUBSCRIBER_MAX_BUFFERED_BYTES (src/infra/backpressure.ts).
 */
import type { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import type { Context, ServerOptions } from 'graphql-ws';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';
import type { BackpressureConfig } from '../config.js';
import { boundWebSocketBuffer } from '../infra/backpressure.js';
import type { Metrics } from '../infra/metrics.js';
import { isRefusal, type Lease, type RateLimits, type Refusal } from '../infra/rate-limit.js';
import { bearerToken } from '../modules/auth/auth.service.js';

/** The close code of a connection refused by a rate limit or connection cap. */
export const RATE_LIMIT_CLOSE_CODE = 4429;

type Extra = { socket: WebSocket; request: IncomingMessage };
type AnyOptions = ServerOptions<Record<string, unknown> | undefined, Extra>;
type Ctx = Context<Record<string, unknown> | undefined, Extra>;

function closeRefused(socket: WebSocket, refusal: Refusal) {
  if (socket.readyState === socket.OPEN) socket.close(RATE_LIMIT_CLOSE_CODE, refusal.message.slice(0, 120));
}

/** The refusal as an error of one graphql-ws operation. */
export function rateLimitedError(refusal: Refusal) {
  return new GraphQLError(refusal.message, { extensions: { code: 'RATE_LIMITED', limit: refusal.limit, retryAfter: refusal.retryAfterSeconds } });
}

const connectionToken = (params: Record<string, unknown> | undefined) => {
  const header = params?.authorization ?? params?.Authorization;
  return typeof header === 'string' ? bearerToken(header) : null;
};

/**
 * Bound every connection of `wss` as it opens: its address's request rate and connection cap, and its
 * buffered bytes. `addressOf` reads the client address as Fastify does (TRUST_PROXY).
 */
export function limitSocketConnections(
  wss: WebSocketServer,
  limits: RateLimits,
  addressOf: (request: IncomingMessage) => string,
  backpressure: BackpressureConfig,
  metrics: Metrics,
  logger: Logger,
) {
  wss.on('connection', (socket, request) => {
    boundWebSocketBuffer(socket, backpressure, metrics, logger);
    const address = addressOf(request);
    void (async () => {
      const refusal = await limits.check([limits.perAddress(address)]);
      const lease = refusal ?? (await limits.openConnection(address, null));
      if (isRefusal(lease)) return closeRefused(socket, lease);
      if (socket.readyState === socket.CLOSING || socket.readyState === socket.CLOSED) lease.release();
      else socket.once('close', () => lease.release());
    })().catch((error: unknown) => logger.error({ err: error }, 'could not apply connection limits'));
  });
}

/** graphql-ws server options with the token cap at `connection_init` and the per-operation limits around `options`' own hooks. */
export function withSocketLimits<O extends AnyOptions>(options: O, limits: RateLimits, addressOf: (request: IncomingMessage) => string): O {
  const leases = new WeakMap<object, Lease>();
  return {
    ...options,
    async onConnect(ctx: Ctx) {
      const token = connectionToken(ctx.connectionParams);
      if (token) {
        const address = addressOf(ctx.extra.request);
        const refusal = await limits.check([limits.blockedAddress(address), limits.perToken(token)]);
        const lease = refusal ?? (await limits.openConnection(undefined, token));
        if (isRefusal(lease)) {
          closeRefused(ctx.extra.socket, lease);
          return false;
        }
        leases.set(ctx, lease);
      }
      return options.onConnect ? options.onConnect(ctx) : undefined;
    },
    async onSubscribe(ctx: Ctx, id: string, payload: Parameters<NonNullable<AnyOptions['onSubscribe']>>[2]) {
      const token = connectionToken(ctx.connectionParams);
      const address = limits.perAddress(addressOf(ctx.extra.request));
      const refusal =
        limits.tooManyOperations(Object.keys(ctx.subscriptions).length) ?? (await limits.check(token ? [address, limits.perToken(token)] : [address]));
      if (refusal) return [rateLimitedError(refusal)];
      return options.onSubscribe ? options.onSubscribe(ctx, id, payload) : undefined;
    },
    async onClose(ctx: Ctx, code?: number, reason?: string) {
      leases.get(ctx)?.release();
      return options.onClose ? options.onClose(ctx, code, reason) : undefined;
    },
  } as O;
}
