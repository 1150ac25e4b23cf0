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

/** The start of a statement as drivers (through knex) put it in their messages: `<sql> - <what failed>`. */
const SQL_PREFIX = /^\s*(select|insert|update|delete|with|create|alter|drop|pragma|begin|commit|rollback|savepoint|release|truncate|copy|set|lock)\b/i;
/** Fields of database errors that carry statements or values (pg: `detail` is "Key (name)=(value) ..."). */
const SQL_FIELDS = ['sql', 'query', 'bindings', 'parameters', 'params', 'detail', 'where', 'internalQuery', 'hint', 'values'];

/**
 * A database error's message without the statement and its values: knex-based drivers (MikroORM's
 * PostgreSQL and SQLite) write `insert into ... values ('the values') - <the driver's message>`; only the
 * driver's message is kept. Any other message is returned as it is.
 */
export function withoutSql(message: string): string {
  if (!SQL_PREFIX.test(message)) return message;
  const cut = message.lastIndexOf(' - ');
  return cut === -1 ? '[SQL statement]' : `[SQL statement] - ${message.slice(cut + 3)}`;
}

function isDatabaseError(error: Error & { code?: unknown }): boolean {
  return SQL_PREFIX.test(error.message) || /Exception$/.test(error.name) || (typeof error.code === 'string' && (/^SQLITE_/.test(error.code) || /^[0-9A-Z]{5}$/.test(error.code)));
}

/** A serialized database error (and its causes) with no statement or value left in message, stack or fields. */
function scrubDatabaseError(serialized: Record<string, unknown>, error: Error) {
  for (const key of SQL_FIELDS) delete serialized[key];
  if (typeof serialized.message === 'string') serialized.message = withoutSql(serialized.message);
  if (typeof serialized.stack === 'string') {
    // The stack's head repeats the message (MikroORM appends the driver error's stack, message and all).
    const frames = serialized.stack.split('\n').filter((line) => /^\s+at /.test(line));
    serialized.stack = [`${error.name}: ${serialized.message as string}`, ...frames].join('\n');
  }
  if (serialized.cause && typeof serialized.cause === 'object' && error.cause instanceof Error) scrubDatabaseError(serialized.cause as Record<string, unknown>, error.cause);
}

/**
 * Errors as pino serializes them, except database errors (no SQL text nor values: see withoutSql) and outbound (got) errors: those carry their whole request options
 * (headers with credentials, the JSON body, the agent) and response; keep only what says what failed.
 */
function serializeError(error: unknown) {
  if (!(error instanceof Error)) return error;
  const serialized = stdSerializers.err(error) as unknown as Record<string, unknown>;
  if (isDatabaseError(error)) scrubDatabaseError(serialized, error);
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

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/**
 * A child logger made when it first writes a line: Fastify gives every request a child bound to its
 * request id, and pino runs the redaction over a child's bindings when it makes one (about 40 µs a
 * request, most of them never logging above the configured level). Lines below the parent's level cost
 * a level check; the first line at or above it makes the real child, as `parent.child(bindings)`.
 */
class ChildOnFirstLine {
  private made: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly childBindings: Record<string, unknown>,
    private readonly options: object,
  ) {}

  get real(): Logger {
    return (this.made ??= this.parent.child(this.childBindings, this.options));
  }

  get level(): string {
    return (this.made ?? this.parent).level;
  }

  set level(level: string) {
    this.real.level = level;
  }

  isLevelEnabled(level: string): boolean {
    return (this.made ?? this.parent).isLevelEnabled(level);
  }

  child(bindings: Record<string, unknown>, options?: object): Logger {
    return this.real.child(bindings, options);
  }

  bindings(): Record<string, unknown> {
    return this.real.bindings();
  }

  silent(): void {}
}
for (const level of LEVELS) {
  Object.defineProperty(ChildOnFirstLine.prototype, level, {
    value(this: ChildOnFirstLine, ...args: unknown[]) {
      if (this.isLevelEnabled(level)) (this.real[level] as (...a: unknown[]) => void)(...args);
    },
  });
}

/** Fastify's `childLoggerFactory`: each request's logger, made on its first line (see ChildOnFirstLine). */
export function childLoggerOnFirstLine(logger: Logger, bindings: Record<string, unknown>, options: object): Logger {
  return new ChildOnFirstLine(logger, bindings, options) as unknown as Logger;
}
