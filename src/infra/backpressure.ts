/**
 * Clients that stop reading, and clients that never finish sending.
 *
 * - A graphql-ws subscriber's frames are written to its socket as messages arrive; one that stops reading made
 *   the gateway buffer them without bound. Every frame is now written only while fewer than
 *   SUBSCRIBER_MAX_BUFFERED_BYTES wait in the socket's buffers (`ws`'s `bufferedAmount`); past that the socket
 *   is closed with 1013 "Try Again Later" and a reason (graphql-ws clients reconnect on 1013 and resume with
 *   `channelMessages(after:)`), and cut if it has not read its way to the close frame within
 *   SUBSCRIBER_STALL_TIMEOUT_MS.
 * - An SSE stream is written only as fast as its client reads (messages wait in the subscription meanwhile):
 *   one that has accepted nothing for SUBSCRIBER_STALL_TIMEOUT_MS while data waits, or has more than
 *   SUBSCRIBER_MAX_BUFFERED_BYTES waiting in its response, is cut.
 * - HTTP connections get HTTP_HEADERS_TIMEOUT_MS to send their request headers (counted from the connection, or
 *   from the previous answer on a kept-alive one) and HTTP_REQUEST_TIMEOUT_MS to send the whole request, body
 *   included; then Node answers 408 and closes. Long answers (SSE, slow handlers) are not cut by these.
 *
 * Each cut is counted in /metrics (`switchboard_slow_subscribers_closed_total{transport,reason}`,
 * `switchboard_http_timeouts_total`) and logged.
 */
import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { BackpressureConfig } from '../config.js';
import type { Metrics } from './metrics.js';

/** The close code for a subscriber that fell too far behind: 1013 "Try Again Later" (graphql-ws clients retry it). */
export const SLOW_SUBSCRIBER_CLOSE_CODE = 1013;

/** Fastify's server options for the timeouts above (Node checks them every connectionsCheckingInterval). */
export function httpTimeoutOptions(config: BackpressureConfig) {
  return {
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    http: {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(config.headersTimeoutMs / 4))),
    },
  };
}

/** Count the connections Node cuts for not sending their request in time. */
export function countHttpTimeouts(server: Server, metrics: Metrics, logger: Logger) {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code !== 'ERR_HTTP_REQUEST_TIMEOUT') return;
    metrics.httpTimeouts.inc();
    logger.debug({ remoteAddress: socket.remoteAddress }, 'request not received in time: connection closed (408)');
  });
}

type Send = WebSocket['send'];

/**
 * Bound what waits to be sent on one graphql-ws socket: every frame (graphql-ws's own and the shared
 * subscription frames written directly) goes through `send`, which is refused past the bound and closes the
 * socket with 1013 and a reason.
 */
export function boundWebSocketBuffer(socket: WebSocket, config: BackpressureConfig, metrics: Metrics, logger: Logger) {
  const send = socket.send.bind(socket) as (...args: unknown[]) => void;
  let closing = false;
  const bounded = (...args: unknown[]) => {
    if (socket.readyState === socket.OPEN && socket.bufferedAmount > config.subscriberMaxBufferedBytes) closeSlow();
    if (closing) {
      // Dropped: answer a callback (graphql-ws awaits one) as ws does for a socket that is closing.
      const cb = args.find((a) => typeof a === 'function') as ((error?: Error) => void) | undefined;
      if (cb) process.nextTick(cb);
      return;
    }
    send(...args);
  };
  socket.send = bounded as unknown as Send;

  function closeSlow() {
    if (closing) return;
    closing = true;
    const waiting = socket.bufferedAmount;
    metrics.slowSubscribersClosed.inc({ transport: 'websocket', reason: 'buffered' });
    logger.warn({ bufferedBytes: waiting, limit: config.subscriberMaxBufferedBytes }, 'subscriber stopped reading: WebSocket closed (1013)');
    socket.close(SLOW_SUBSCRIBER_CLOSE_CODE, `Subscriber too slow: over ${config.subscriberMaxBufferedBytes} bytes waiting`);
    // The close frame waits behind what is buffered: a client that reads nothing more is cut.
    const cut = setTimeout(() => socket.terminate(), Math.min(config.subscriberStallTimeoutMs, 30_000));
    cut.unref();
    socket.once('close', () => clearTimeout(cut));
  }
}

/**
 * Watch an SSE response: when a write has to wait (the client is not reading), the stream is cut unless it
 * drains within SUBSCRIBER_STALL_TIMEOUT_MS, or at once if more than SUBSCRIBER_MAX_BUFFERED_BYTES wait.
 */
export function boundEventStream(res: ServerResponse, config: BackpressureConfig, metrics: Metrics, logger: Logger) {
  const write = res.write;
  let stall: NodeJS.Timeout | null = null;
  let cut = false;
  const cutStream = (reason: 'buffered' | 'stalled') => {
    if (cut || res.destroyed) return;
    cut = true;
    metrics.slowSubscribersClosed.inc({ transport: 'sse', reason });
    logger.warn({ reason, waitingBytes: res.writableLength + (res.socket?.writableLength ?? 0) }, 'subscriber stopped reading: SSE stream closed');
    res.destroy();
  };
  res.write = function (this: ServerResponse, ...args: Parameters<ServerResponse['write']>) {
    const ok = write.apply(this, args);
    if (!ok && !cut) {
      if (res.writableLength + (res.socket?.writableLength ?? 0) > config.subscriberMaxBufferedBytes) cutStream('buffered');
      else if (!stall) {
        stall = setTimeout(() => cutStream('stalled'), config.subscriberStallTimeoutMs);
        stall.unref();
        res.once('drain', () => {
          if (stall) clearTimeout(stall);
          stall = null;
        });
      }
    }
    return ok;
  } as ServerResponse['write'];
  res.once('close', () => {
    if (stall) clearTimeout(stall);
  });
}
