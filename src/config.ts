import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import proxyAddr from '@fastify/proxy-addr';
import { parseAllowList } from './infra/address-guard.js';

/** Environment variables, all optional: the defaults are the embedded shape (SQLite, in-process pubsub). */
const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: z.url().optional(),
  DATABASE_URL: z.string().optional(),
  REDIS_URL: z.string().optional(),
  MONGODB_URL: z.string().optional(),
  AGENDA_BACKEND: z.enum(['embedded', 'mongo', 'postgres', 'redis']).optional(),
  AGENDA_PROCESS_EVERY_MS: z.coerce.number().int().min(50).max(3_600_000).default(5_000),
  AGENDA_NAMESPACE: z.string().regex(/^[a-z0-9_]{1,40}$/, 'AGENDA_NAMESPACE must be 1-40 of a-z, 0-9 and _').optional(),
  TICK_LEASE_MS: z.coerce.number().int().min(500).max(3_600_000).default(30_000),
  SWITCHBOARD_ADMIN_TOKEN: z.string().min(24, 'SWITCHBOARD_ADMIN_TOKEN must be at least 24 characters').optional(),
  SWITCHBOARD_SECRET_KEY: z.string().optional(),
  SWITCHBOARD_DATA_DIR: z.string().default('./data'),
  OUTBOUND_ALLOW_PRIVATE: z.string().optional(),
  OUTBOUND_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  OUTBOUND_THREADS: z.coerce.number().int().min(0).max(16).default(1),
  SPEC_MAX_BYTES: z.coerce.number().int().positive().default(1_048_576),
  MODIFIER_BUDGET_MS: z.coerce.number().int().positive().default(1_000),
  COMMAND_TIMEOUT_MS: z.coerce.number().int().positive().default(3_000),
  MESSAGE_FEED_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  MESSAGE_FEED_GAP_MS: z.coerce.number().int().min(0).max(60_000).default(200),
  SIGNING_SECRET_OVERLAP_HOURS: z.coerce.number().min(0).max(720).default(24),
  DELIVERY_RETRY_SCHEDULE: z.string().default('5,300,1800,7200,18000,36000,36000'),
  DELIVERY_RETRY_AFTER_MAX_SECONDS: z.coerce.number().int().min(0).max(2_592_000).default(86_400),
  DELIVERY_CIRCUIT_FAILURES: z.coerce.number().int().min(0).max(1_000).default(5),
  DELIVERY_CIRCUIT_COOLDOWN_SECONDS: z.coerce.number().min(0.1).max(86_400).default(60),
  DELIVERY_DISABLE_AFTER_HOURS: z.coerce.number().min(0).max(8_760).default(120),
  DELIVERY_EVENTS_BACKLOG: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  WEBHOOK_MAX_BYTES: z.coerce.number().int().positive().default(1_048_576),
  SLACK_CLIENT_ID: z.string().optional(),
  SLACK_CLIENT_SECRET: z.string().optional(),
  SLACK_API_URL: z.url().default('https://slack.com/api'),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(1).default(10),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(0).default(15),
  GRAPHQL_MAX_TOKENS: z.coerce.number().int().min(1).default(1_000),
  GRAPHQL_MAX_COST: z.coerce.number().int().min(1).default(50_000),
  GRAPHQL_MAX_DIRECTIVES: z.coerce.number().int().min(0).default(50),
  GRAPHQL_MAX_CHARS: z.coerce.number().int().min(1).default(15_000),
  TRUST_PROXY: z.string().optional(),
  RATE_LIMIT_ADDRESS: z.string().default('6000/1m'),
  RATE_LIMIT_TOKEN: z.string().default('3000/1m'),
  RATE_LIMIT_AUTH_FAILURES: z.string().default('50/5m'),
  RATE_LIMIT_CHANNEL: z.string().default('600/1m'),
  RATE_LIMIT_CHANNEL_BYTES: z.string().default('33554432/1m'),
  RATE_LIMIT_SOCKETS_PER_ADDRESS: z.coerce.number().int().min(0).default(200),
  RATE_LIMIT_SOCKETS_PER_TOKEN: z.coerce.number().int().min(0).default(100),
  RATE_LIMIT_SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().min(0).default(100),
  RATE_LIMIT_STORE_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  RATE_LIMIT_NAMESPACE: z.string().regex(/^[a-z0-9_]{1,40}$/, 'RATE_LIMIT_NAMESPACE must be 1-40 of a-z, 0-9 and _').optional(),
  SUBSCRIBER_MAX_BUFFERED_BYTES: z.coerce.number().int().min(1024).default(4_194_304),
  SUBSCRIBER_STALL_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).default(72_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.string().optional(),
});

export type DatabaseConfig =
  | { driver: 'sqlite'; dbName: string }
  | { driver: 'postgresql'; url: string };

export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  dataDir: string;
  database: DatabaseConfig;
  redisUrl?: string;
  mongodbUrl?: string;
  agendaBackend: 'embedded' | 'mongo' | 'postgres' | 'redis';
  /** How often Agenda looks for due jobs, in ms (it locks jobs due within this window and runs them on time). */
  agendaProcessEveryMs: number;
  /** Suffix of the job store's table, collection or key prefix, so that several deployments can share one server. */
  agendaNamespace?: string;
  /** How long a replica's claim on a slot's ticks lasts without renewal before another replica takes them over, ms. */
  tickLeaseMs: number;
  adminToken?: string;
  /** 32-byte key for secrets encrypted at rest (auth_credential, Slack tokens). */
  secretKey: Buffer;
  outbound: {
    /** true: every private/loopback address; a list: only those addresses or CIDR ranges, each optionally with a port (see infra/address-guard.ts). */
    allowPrivate: boolean | string[];
    timeoutMs: number;
    specMaxBytes: number;
    /** Threads that make the calls of deliveries, ticks, modifiers and slash commands (modules/deliveries/send-threads.ts); 0: the main thread. */
    threads: number;
  };
  modifierBudgetMs: number;
  /** Time budget of a slash command's call (no retry): 3 s, as Slack gives a command. */
  commandTimeoutMs: number;
  /** Live channel feeds (see messages/channel-feeds.ts): how often a replica compares the committed sequence of its subscribed channels with what it delivered, and how long a hole in the sequence may wait for its publish before it is read from the database (ms). */
  messageFeed: { pollMs: number; gapMs: number };
  webhookMaxBytes: number;
  /** How long a rotated signing secret still signs calls beside its successor (hours). */
  signingSecretOverlapHours: number;
  /** Deliveries (src/modules/deliveries): how receivers' answers steer the queue (README: "Delivery guarantees"). */
  deliveries: {
    /** The default retry schedule of queued calls (outputs), ms after each failed attempt: Standard Webhooks' unless DELIVERY_RETRY_SCHEDULE says otherwise. */
    retryMs: number[];
    /** The longest wait a Retry-After answer (429, 503) may set before the next attempt, ms. */
    retryAfterMaxMs: number;
    /** Failures in a row that open a target's circuit (0: circuits never open). */
    circuitFailures: number;
    /** How long an open circuit sends nothing before one probe, ms. */
    circuitCooldownMs: number;
    /** How long a target may fail without a success before it is disabled, ms (0: never). */
    disableAfterMs: number;
    /** Delivery events that may wait for one `deliveryEvents` subscriber before its stream ends. */
    eventsBacklog: number;
  };
  slack: { clientId?: string; clientSecret?: string; apiUrl: string };
  logLevel: string;
  prettyLogs: boolean;
  /** NODE_ENV=production: introspection and field suggestions only for authenticated callers. */
  production: boolean;
  /** Limits every GraphQL document must fit before it is executed (README: "Security"). */
  graphqlLimits: GraphQLLimits;
  /** Which peers' X-Forwarded-For is believed for the client address (Fastify's `trustProxy`): false, true, or a list of addresses/CIDRs. */
  trustProxy: boolean | string[];
  /** Request rates and connection counts per address, token and channel (README: "Security", src/infra/rate-limit.ts). */
  rateLimits: RateLimitConfig;
  /** Subscribers that stop reading, and HTTP connections that never finish their request (src/infra/backpressure.ts). */
  backpressure: BackpressureConfig;
}

/** `points` per `durationMs` window; null: that limit is off. */
export interface RateWindow {
  points: number;
  durationMs: number;
}

export interface RateLimitConfig {
  /** Requests (HTTP and graphql-ws operations and connections) per client address. */
  address: RateWindow | null;
  /** Requests per presented token (Bearer, X-Auth-Token, a connection's connectionParams). */
  token: RateWindow | null;
  /** Failed authentications per client address: past it, requests that carry credentials are refused. */
  authFailures: RateWindow | null;
  /** Posts per inbound channel (webhook, return URL, incoming hook, custom channel). */
  channel: RateWindow | null;
  /** Body bytes per inbound channel. */
  channelBytes: RateWindow | null;
  /** Open subscription connections (graphql-ws sockets, SSE streams) per client address; 0: no limit. */
  socketsPerAddress: number;
  /** Open subscription connections per token; 0: no limit. */
  socketsPerToken: number;
  /** Operations at once on one graphql-ws socket; 0: no limit. */
  subscriptionsPerSocket: number;
  /** Key prefix suffix in Redis, so that several deployments can share one server. */
  namespace?: string;
  /**
   * How long a limit waits for Redis before counting in this replica's memory instead, ms (then without asking
   * Redis again until a probe, once a second, has its answer).
   */
  storeTimeoutMs?: number;
}

export interface BackpressureConfig {
  /** Bytes waiting to be sent to one subscriber past which it is closed. */
  subscriberMaxBufferedBytes: number;
  /** How long an SSE subscriber may accept nothing while data waits before it is closed, ms. */
  subscriberStallTimeoutMs: number;
  /** Time to receive a request's headers, ms. */
  headersTimeoutMs: number;
  /** Time to receive a whole request (headers and body), ms. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept, ms. */
  keepAliveTimeoutMs: number;
}

export interface GraphQLLimits {
  /** Deepest field nesting (introspection's `__schema` excluded). */
  maxDepth: number;
  /** Aliased fields in one operation (`__typename` excluded). */
  maxAliases: number;
  /** Lexical tokens in the document. */
  maxTokens: number;
  /** GraphQL Armor's cost estimate (objects 2, scalars 1, x1.5 per level, x`first`/`last` of a list). */
  maxCost: number;
  /** Directives in one operation. */
  maxDirectives: number;
  /** Characters of the query text. */
  maxChars: number;
}

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means unset (compose files pass `${VAR:-}` through as "").
  const parsed = EnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.SWITCHBOARD_DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    dataDir,
    database: parseDatabaseUrl(e.DATABASE_URL, dataDir),
    redisUrl: e.REDIS_URL || undefined,
    mongodbUrl: e.MONGODB_URL || undefined,
    agendaBackend: e.AGENDA_BACKEND ?? (e.MONGODB_URL ? 'mongo' : 'embedded'),
    agendaProcessEveryMs: e.AGENDA_PROCESS_EVERY_MS,
    agendaNamespace: e.AGENDA_NAMESPACE,
    tickLeaseMs: e.TICK_LEASE_MS,
    adminToken: e.SWITCHBOARD_ADMIN_TOKEN,
    secretKey: resolveSecretKey(e.SWITCHBOARD_SECRET_KEY, dataDir),
    outbound: {
      allowPrivate: parseAllowPrivate(e.OUTBOUND_ALLOW_PRIVATE),
      timeoutMs: e.OUTBOUND_TIMEOUT_MS,
      specMaxBytes: e.SPEC_MAX_BYTES,
      threads: e.OUTBOUND_THREADS,
    },
    modifierBudgetMs: e.MODIFIER_BUDGET_MS,
    commandTimeoutMs: e.COMMAND_TIMEOUT_MS,
    messageFeed: { pollMs: e.MESSAGE_FEED_POLL_MS, gapMs: e.MESSAGE_FEED_GAP_MS },
    webhookMaxBytes: e.WEBHOOK_MAX_BYTES,
    signingSecretOverlapHours: e.SIGNING_SECRET_OVERLAP_HOURS,
    deliveries: {
      retryMs: parseRetrySchedule(e.DELIVERY_RETRY_SCHEDULE),
      retryAfterMaxMs: e.DELIVERY_RETRY_AFTER_MAX_SECONDS * 1_000,
      circuitFailures: e.DELIVERY_CIRCUIT_FAILURES,
      circuitCooldownMs: Math.round(e.DELIVERY_CIRCUIT_COOLDOWN_SECONDS * 1_000),
      disableAfterMs: Math.round(e.DELIVERY_DISABLE_AFTER_HOURS * 3_600_000),
      eventsBacklog: e.DELIVERY_EVENTS_BACKLOG,
    },
    slack: { clientId: e.SLACK_CLIENT_ID, clientSecret: e.SLACK_CLIENT_SECRET, apiUrl: e.SLACK_API_URL.replace(/\/+$/, '') },
    logLevel: e.LOG_LEVEL,
    prettyLogs: e.NODE_ENV !== 'production' && process.stdout.isTTY === true,
    production: e.NODE_ENV === 'production',
    graphqlLimits: {
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxCost: e.GRAPHQL_MAX_COST,
      maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
      maxChars: e.GRAPHQL_MAX_CHARS,
    },
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    rateLimits: {
      address: parseRateWindow('RATE_LIMIT_ADDRESS', e.RATE_LIMIT_ADDRESS),
      token: parseRateWindow('RATE_LIMIT_TOKEN', e.RATE_LIMIT_TOKEN),
      authFailures: parseRateWindow('RATE_LIMIT_AUTH_FAILURES', e.RATE_LIMIT_AUTH_FAILURES),
      channel: parseRateWindow('RATE_LIMIT_CHANNEL', e.RATE_LIMIT_CHANNEL),
      channelBytes: parseRateWindow('RATE_LIMIT_CHANNEL_BYTES', e.RATE_LIMIT_CHANNEL_BYTES),
      socketsPerAddress: e.RATE_LIMIT_SOCKETS_PER_ADDRESS,
      socketsPerToken: e.RATE_LIMIT_SOCKETS_PER_TOKEN,
      subscriptionsPerSocket: e.RATE_LIMIT_SUBSCRIPTIONS_PER_SOCKET,
      namespace: e.RATE_LIMIT_NAMESPACE,
      storeTimeoutMs: e.RATE_LIMIT_STORE_TIMEOUT_MS,
    },
    backpressure: {
      subscriberMaxBufferedBytes: e.SUBSCRIBER_MAX_BUFFERED_BYTES,
      subscriberStallTimeoutMs: e.SUBSCRIBER_STALL_TIMEOUT_MS,
      headersTimeoutMs: Math.min(e.HTTP_HEADERS_TIMEOUT_MS, e.HTTP_REQUEST_TIMEOUT_MS),
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
  };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * A rate limit as `N/period` (`600/1m`, `30/10s`, `50/5m`, `1000/1h`; a bare `N` is per minute), or `0` / `off`
 * to switch it off. Windows are whole seconds (Redis keys expire in seconds).
 */
export function parseRateWindow(name: string, value: string): RateWindow | null {
  const text = value.trim().toLowerCase();
  if (text === '0' || text === 'off') return null;
  const match = /^(\d+)\s*(?:\/\s*(\d+)?\s*(ms|s|m|h))?$/.exec(text);
  const points = match ? Number(match[1]) : NaN;
  const durationMs = match?.[3] ? Number(match[2] ?? 1) * UNIT_MS[match[3]] : 60_000;
  if (!match || !Number.isSafeInteger(points) || points < 1 || durationMs < 1_000 || durationMs % 1_000 !== 0) {
    throw new ConfigError(`Invalid configuration:\n  ${name}: must be N/period in whole seconds (e.g. 600/1m, 30/10s), N (per minute), or off`);
  }
  return { points, durationMs };
}

/**
 * A retry schedule: seconds to wait after each failed attempt, comma-separated (`5,300,1800`; decimals allowed),
 * at most 20 waits of at most 7 days each; `none`: a single attempt.
 */
export function parseRetrySchedule(value: string): number[] {
  const text = value.trim().toLowerCase();
  if (text === 'none') return [];
  const waits = text.split(',').map((s) => Number(s.trim()));
  if (waits.length > 20 || waits.some((w) => !Number.isFinite(w) || w < 0 || w > 604_800) || text.split(',').some((s) => !s.trim())) {
    throw new ConfigError('Invalid configuration:\n  DELIVERY_RETRY_SCHEDULE: must be up to 20 comma-separated waits in seconds (0 to 604800 each, e.g. 5,300,1800), or none');
  }
  return waits.map((w) => Math.round(w * 1_000));
}

/** Off, `true` (every peer: only behind a proxy that overwrites X-Forwarded-For), or the proxies' addresses/CIDRs (`loopback`, `uniquelocal` ... as proxy-addr names them). */
function parseTrustProxy(value: string | undefined): boolean | string[] {
  if (!value || /^(0|false|no)$/i.test(value)) return false;
  if (/^(1|true|yes)$/i.test(value)) return true;
  const entries = value.split(',').map((s) => s.trim()).filter(Boolean);
  try {
    proxyAddr.compile(entries);
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  TRUST_PROXY: ${(error as Error).message}`);
  }
  return entries;
}

function parseDatabaseUrl(url: string | undefined, dataDir: string): DatabaseConfig {
  if (!url) return { driver: 'sqlite', dbName: path.join(dataDir, 'switchboard.db') };
  if (/^postgres(ql)?:\/\//.test(url)) return { driver: 'postgresql', url };
  if (url === ':memory:') return { driver: 'sqlite', dbName: url };
  const file = url.replace(/^(sqlite|file):(\/\/)?/, '');
  return { driver: 'sqlite', dbName: path.resolve(file) };
}

function parseAllowPrivate(value: string | undefined): boolean | string[] {
  if (!value || /^(0|false|no)$/i.test(value)) return false;
  if (/^(1|true|yes)$/i.test(value)) return true;
  const entries = value.split(',').map((s) => s.trim()).filter(Boolean);
  try {
    parseAllowList(entries);
  } catch (error) {
    throw new ConfigError(`OUTBOUND_ALLOW_PRIVATE: ${(error as Error).message}`);
  }
  return entries;
}

/**
 * The embedded default keeps a generated key beside its database so secrets survive restarts
 * without any setup; production passes SWITCHBOARD_SECRET_KEY (base64 or hex, 32 bytes).
 */
function resolveSecretKey(value: string | undefined, dataDir: string): Buffer {
  if (value) {
    const key = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
    if (key.length !== 32) throw new ConfigError('SWITCHBOARD_SECRET_KEY must be 32 bytes, base64 or hex encoded');
    return key;
  }
  const file = path.join(dataDir, 'secret.key');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64'), { mode: 0o600 });
  return key;
}
