import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import got, { type Got, RequestError } from 'got';
import type { Config } from '../config.js';
import { parseAllowList, refusal, type AllowPolicy } from './address-guard.js';

/** An outbound call refused by the SSRF guard before any connection was made. */
export class BlockedAddressError extends Error {
  readonly code = 'EBLOCKED';
  constructor(message: string) {
    super(message);
    this.name = 'BlockedAddressError';
  }
}

type Connect = (options: net.NetConnectOpts & { host?: string; port?: number | string }, callback?: (err: Error | null, socket: Duplex) => void) => Duplex;

/**
 * The guard on the socket: a literal host is checked as written (Node skips DNS for it), a name is checked
 * on every address its lookup answers (all of them under Happy Eyeballs), each with the port connected to, so
 * `OUTBOUND_ALLOW_PRIVATE` entries with a port open that port only. Refusals fail the socket before it connects.
 */
function guarded(connect: Connect, policy: AllowPolicy): Connect {
  return (options, callback) => {
    const port = Number(options.port ?? 0);
    const host = options.host?.replace(/^\[|\]$/g, '');
    const refuse = (why: string) => {
      const error = new BlockedAddressError(why);
      const socket = new net.Socket();
      if (callback) callback(error, socket);
      else process.nextTick(() => socket.destroy(error));
      return socket;
    };
    if (host && net.isIP(host)) {
      const why = refusal(host, port, policy);
      if (why) return refuse(why);
    }
    const lookup = (options as net.TcpNetConnectOpts).lookup ?? dns.lookup;
    const checked = ((hostname: string, lookupOptions: dns.LookupOptions, cb: (err: Error | null, address: string | dns.LookupAddress[], family?: number) => void) => {
      lookup(hostname, lookupOptions, ((err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => {
        if (err) return cb(err, address, family);
        const list = Array.isArray(address) ? address.map((a) => a.address) : [address];
        for (const a of list) {
          const why = refusal(a, port, policy);
          if (why) return cb(new BlockedAddressError(`${hostname} resolves to ${why}`), address, family);
        }
        cb(null, address, family);
      }) as never);
    }) as unknown as net.LookupFunction;
    return connect({ ...options, lookup: checked } as never, callback);
  };
}

class GuardedHttpAgent extends http.Agent {
  constructor(options: http.AgentOptions, policy: AllowPolicy) {
    super(options);
    const self = this as unknown as { createConnection: Connect };
    self.createConnection = guarded(self.createConnection.bind(this), policy);
  }
}

class GuardedHttpsAgent extends https.Agent {
  constructor(options: https.AgentOptions, policy: AllowPolicy) {
    super(options);
    const self = this as unknown as { createConnection: Connect };
    self.createConnection = guarded(self.createConnection.bind(this), policy);
  }
}

/** Why an outbound fetch failed, in words a user can act on. */
export class OutboundError extends Error {
  constructor(
    readonly kind: 'blocked' | 'unreachable' | 'timeout' | 'status' | 'too_large' | 'not_json',
    message: string,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

export interface HttpClient {
  /** The one got instance every outbound call goes through (SSRF guard, timeouts, keep-alive). */
  got: Got;
  /** GET a JSON document of at most `maxBytes`, with errors that say what went wrong. */
  fetchJson(url: string, maxBytes: number): Promise<unknown>;
  close(): void;
}

/**
 * How long a kept-alive socket may idle before the agent closes it. Node's agent closes a socket a second before the
 * server's announced `Keep-Alive: timeout=N` only when it has a timeout of its own (Node 20 ignores the hint
 * without one): with none, a call 5 s after the last one to a Node server (its default keep-alive) reused the socket
 * as the server closed it, and failed with ECONNRESET. Only idle sockets are closed by it: got's timeouts govern calls.
 */
const IDLE_SOCKET_MS = 30_000;

/** Open connections per host and scheme: calls beyond it wait in the agent's queue for a socket. */
export const MAX_SOCKETS_PER_HOST = 256;

export function createHttpClient(config: Config['outbound']): HttpClient {
  const allow = config.allowPrivate;
  const policy: AllowPolicy = allow === true ? true : parseAllowList(allow === false ? [] : allow);
  const agentOptions = { keepAlive: true, maxSockets: MAX_SOCKETS_PER_HOST, timeout: IDLE_SOCKET_MS };
  const agent = { http: new GuardedHttpAgent(agentOptions, policy), https: new GuardedHttpsAgent(agentOptions, policy) };

  const instance = got.extend({
    agent,
    timeout: { lookup: 2_000, connect: 3_000, request: config.timeoutMs },
    retry: { limit: 0 },
    followRedirect: true,
    maxRedirects: 5,
    throwHttpErrors: false,
    headers: { 'user-agent': 'Switchboard/0.1 (+https://github.com/switchboard)' },
  });

  async function fetchJson(url: string, maxBytes: number): Promise<unknown> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new OutboundError('unreachable', `"${url}" is not a valid URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new OutboundError('blocked', `only http and https URLs can be fetched, not ${parsed.protocol}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let statusCode = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const stream = instance.stream(parsed, { headers: { accept: 'application/json' } });
        stream.on('response', (res: { statusCode: number; headers: Record<string, string | undefined> }) => {
          statusCode = res.statusCode;
          const declared = Number(res.headers['content-length'] ?? 0);
          if (declared > maxBytes) stream.destroy(new OutboundError('too_large', tooLarge(maxBytes)));
        });
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > maxBytes) {
            stream.destroy();
            throw new OutboundError('too_large', tooLarge(maxBytes));
          }
          chunks.push(chunk);
        }
        break;
      } catch (error) {
        // A kept-alive socket the server closed just as it was reused: the GET got no answer at all, so it is sent
        // once more, on a new socket (as browsers do; a GET changes nothing).
        if (attempt === 1 && statusCode === 0 && (error as { code?: string }).code === 'ECONNRESET') continue;
        throw describe(error);
      }
    }
    if (statusCode < 200 || statusCode >= 300) {
      throw new OutboundError('status', `the server answered HTTP ${statusCode}`, statusCode);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    try {
      return JSON.parse(text);
    } catch {
      throw new OutboundError('not_json', 'the response is not valid JSON');
    }
  }

  return {
    got: instance,
    fetchJson,
    close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}

function tooLarge(maxBytes: number) {
  return `the response is larger than the ${maxBytes}-byte limit`;
}

/** Turn got/agent failures into OutboundError with a message safe to show the caller. */
export function describe(error: unknown): OutboundError {
  if (error instanceof OutboundError) return error;
  const cause = error instanceof RequestError ? (error.cause ?? error) : error;
  if (cause instanceof BlockedAddressError) {
    return new OutboundError('blocked', 'the address resolves to a private, loopback or link-local network, which outbound calls may not reach');
  }
  if (error instanceof RequestError && error.code === 'ETIMEDOUT') {
    return new OutboundError('timeout', 'the server did not answer in time');
  }
  if (error instanceof OutboundError) return error;
  const code = error instanceof RequestError ? error.code : undefined;
  return new OutboundError('unreachable', `the server could not be reached${code ? ` (${code})` : ''}`);
}
