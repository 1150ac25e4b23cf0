import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { RequestError } from 'got';
import { pino, stdSerializers, symbols, type DestinationStream, type Logger } from 'pino';

/** Field names whose values are secrets wherever they appear in a logged object. */
const SECRET_KEYS = [
  'token',
  'access_token',
  'accessToken',
  'refresh_token',
  'refreshToken',
  'bot_token',
  'botToken',
  'auth_credential',
  'authCredential',
  'authorization',
  'Authorization',
  'password',
  'secret',
  'client_secret',
  'clientSecret',
  'secretKey',
  'adminToken',
  'api_key',
  'apiKey',
  'x-auth-token',
  'x-api-key',
  'cookie',
  'set-cookie',
];

/**
 * Paths whose values never reach a log line: each secret key at the top level and up to three objects
 * deep (pino's wildcards match exactly one level), plus the request and response headers Fastify and got
 * errors carry.
 */
export const REDACT_PATHS = [
  ...SECRET_KEYS.flatMap((key) => {
    const plain = /^\w+$/.test(key);
    const member = plain ? `.${key}` : `["${key}"]`;
    return [...(plain ? [key] : []), `*${member}`, `*.*${member}`, `*.*.*${member}`];
  }),
  'req.headers.authorization',
  'req.headers["x-auth-token"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/** URL query parameters whose values are secrets (Slack's OAuth code, tokens passed in the query). */
const SECRET_QUERY = /^(token|access_token|code|secret|client_secret|api_key|key|auth|password|signature)$/i;

/**
 * A URL safe to log: secret query values and the token segment of token-bearing paths
 * (Rocket.Chat's incoming webhook `/hooks/{id}/{token}`) replaced by [redacted].
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  let path = q === -1 ? url : url.slice(0, q);
  path = path.replace(/^(.*\/hooks\/[^/]+\/)[^/?]+/, '$1[redacted]');
  if (q === -1) return path;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = eq === -1 ? pair : pair.slice(0, eq);
      let name = key;
      try {
        name = decodeURIComponent(key);
      } catch {
        // keep the raw key
      }
      return eq !== -1 && SECRET_QUERY.test(name) ? `${key}=[redacted]` : pair;
    })
    .join('&');
  return `${path}?${query}`;
}

/**
 * The request id of the work in progress (an HTTP request, a job run, a delivery retry), carried through
 * async calls so every log line written on its behalf names it, in services too, without passing it around.
 */
const requestContext = new AsyncLocalStorage<{ reqId: string }>();

/** Run `fn` with `reqId` attached to every log line it writes (jobs and retries restore the original id). */
export function withRequestId<T>(reqId: string, fn: () => T): T {
  return requestContext.run({ reqId }, fn);
}

/** The request id in force, if any (to store beside deferred work so a later retry logs the same id). */
export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.reqId;
}

/** A request id from a client is honoured only when it is short and plain (no log injection). */
export function acceptableRequestId(value: unknown): value is string {
  return typeof value === 'string' && /^[\w.:@/+=-]{1,128}$/.test(value);
}

/**
 * Errors as pino serializes them, except outbound (got) errors: those carry their whole request options
 * (headers with credentials, the JSON body, the agent) and response; keep only what says what failed.
 */
function serializeError(error: unknown) {
  if (!(error instanceof Error)) return error;
  const serialized = stdSerializers.err(error) as unknown as Record<string, unknown>;
  if (error instanceof RequestError) {
    for (const key of ['options', 'request', 'response', 'timings', 'input']) delete serialized[key];
    serialized.method = error.options?.method;
    serialized.url = error.options?.url ? redactUrl(String(error.options.url)) : undefined;
    serialized.statusCode = error.response?.statusCode;
    if (typeof serialized.message === 'string') serialized.message = serialized.message.replace(/(https?:\/\/\S+)/g, (u) => redactUrl(u));
    if (typeof serialized.stack === 'string') serialized.stack = serialized.stack.replace(/(https?:\/\/\S+)/g, (u) => redactUrl(u));
  }
  return serialized;
}

const serializers = {
  err: serializeError,
  error: serializeError,
  req(req: { method?: string; url?: string; hostname?: string; ip?: string; id?: string; headers?: Record<string, unknown> }) {
    return {
      method: req.method,
      url: typeof req.url === 'string' ? redactUrl(req.url) : req.url,
      host: req.hostname,
      remoteAddress: req.ip,
      userAgent: req.headers?.['user-agent'],
    };
  },
};

function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export interface LoggerOptions {
  level: string;
  /** Human-readable output (development); falls back to JSON when pino-pretty is not installed. */
  pretty: boolean;
  /** Where JSON lines go (default stdout); tests pass a stream to read them. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const chindings = symbols.chindingsSym as unknown as string;
  const config = {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers,
    // Lines written inside a request (or job) name it, unless the logger already is that request's child.
    mixin(_obj: object, _level: number, logger: Logger) {
      const reqId = requestContext.getStore()?.reqId;
      if (!reqId) return {};
      const bound = (logger as unknown as Record<string, string | undefined>)[chindings];
      return bound?.includes('"reqId":') ? {} : { reqId };
    },
  };
  if (options.pretty && !options.destination && prettyAvailable()) {
    return pino({
      ...config,
      transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return options.destination ? pino(config, options.destination) : pino(config);
}
