/**
 * Rate limits and connection caps, one instance per app (built by buildApp, reached as `deps.rateLimits`),
 * shared by every door: REST and GraphQL over HTTP and SSE (src/rest/rate-limit.ts), graphql-ws
 * (src/graphql/socket-limits.ts), and openScope, which reports failed authentications.
 *
 * Request rates are fixed windows: with REDIS_URL each window is one Redis key (rate-limiter-flexible: INCRBY and
 * its expiry in one Lua script, atomic), so every replica counts against the same number; without, a map in this
 * process (`MemoryWindow`), checked at once: a request's checks then cost no promise. If Redis stops answering, each
 * replica falls back to its own in-memory window (rate-limiter-flexible's insurance limiter) rather than refusing or
 * waiting.
 *
 * Connection caps (sockets per address or token) are counts of what is open now, not rates: in Redis a sorted set
 * per key whose members are the open connections, each with an expiry its replica pushes forward while the
 * connection lives, so a replica that dies frees its connections within SLOT_TTL_MS; in memory, a set.
 *
 * Every refusal is counted in /metrics as `switchboard_rate_limited_total{limit}`.
 *
 * Outbound throttles (a delivery target's maxPerSecond) are turns, not windows: each call reserves the target's next
 * free moment, 1/rate after the previous call's, so calls leave evenly spaced and never more than `rate` in any
 * second, whichever replica sends them. In Redis one key per target holds that moment (read and moved in one Lua
 * script on Redis's own clock, so replicas' clocks do not matter); in memory, a map. If Redis stops answering, each
 * replica keeps its own turns meanwhile (the combined rate is then up to `rate` per replica).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitConfig, RateWindow } from '../config.js';
import { parseAddress } from './address-guard.js';
import { hashToken } from './crypto.js';
import { newRedis, type Redis } from './redis.js';
import { TtlCache } from './ttl-cache.js';
import type { Metrics } from './metrics.js';

/** The limits, as named in /metrics (`limit` label), in 429 bodies and in the README. */
export type LimitName =
  | 'address'
  | 'token'
  | 'auth_failures'
  | 'channel'
  | 'channel_bytes'
  | 'sockets_per_address'
  | 'sockets_per_token'
  | 'subscriptions_per_socket';

/** Why a request or connection was refused, and when to try again. */
export interface Refusal {
  limit: LimitName;
  /** Whole seconds (at least 1): the `Retry-After` value. */
  retryAfterSeconds: number;
  message: string;
}

/** A limit's verdict: a refusal or null, at once from memory windows, by promise from Redis. */
export type Verdict = Refusal | null | Promise<Refusal | null>;

/**
 * The first refusal of `checks`, run in order, each only while none before it refused: at once as long as each
 * answers at once, by promise from the first that waits (on Redis).
 */
export function firstRefusal(checks: readonly (() => Verdict)[], from = 0): Verdict {
  for (let i = from; i < checks.length; i++) {
    const verdict = checks[i]!();
    if (verdict instanceof Promise) return verdict.then((refusal) => refusal ?? firstRefusal(checks, i + 1));
    if (verdict) return verdict;
  }
  return null;
}

/** An open connection's hold on its caps; release it once, when the connection closes. */
export interface Lease {
  release(): void;
}

declare module '../context.js' {
  interface Deps {
    /** Request rates and connection caps per address, token and channel (src/infra/rate-limit.ts). */
    rateLimits: RateLimits;
  }
}

/** How long an open connection's slot lives in Redis without being refreshed by its replica. */
const SLOT_TTL_MS = 60_000;
/** Connection caps give no time to wait: a client told to retry waits this long. */
const SLOT_RETRY_AFTER_SECONDS = 10;

const MESSAGES: Record<LimitName, string> = {
  address: 'Too many requests from this address',
  token: 'Too many requests with this token',
  auth_failures: 'Too many failed authentications from this address',
  channel: 'Too many posts to this channel',
  channel_bytes: 'Too many bytes posted to this channel',
  sockets_per_address: 'Too many open subscription connections from this address',
  sockets_per_token: 'Too many open subscription connections with this token',
  subscriptions_per_socket: 'Too many operations at once on this connection',
};

/**
 * The key an address is counted under: IPv4 as is (an IPv4-mapped IPv6 address as its IPv4 form), IPv6 by
 * its /64, the smallest block one subscriber is handed (otherwise a client would rotate through 2^64 addresses).
 */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const bytes = parseAddress(address);
  if (!bytes) return address;
  if (bytes.length === 4) return bytes.join('.');
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return Array.from(bytes.subarray(12)).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return `${groups.join(':')}::/64`;
}

/**
 * The client's address as Fastify's `request.ip` reads it with the same TRUST_PROXY (for the WebSocket upgrade,
 * which never reaches Fastify's routing): the socket's peer, or the first X-Forwarded-For entry before a trusted proxy.
 */
export function clientAddressReader(trustProxy: boolean | string[]): (request: IncomingMessage) => string {
  const trust = trustProxy === true ? () => true : trustProxy === false ? () => false : proxyAddr.compile(trustProxy);
  return (request) => proxyAddr(request, trust);
}

/** Addresses whose rate-limit key a RateLimits keeps. */
const ADDRESS_KEYS_KEPT = 10_000;

/** A token is never kept, only its hash (the first 32 hex digits of SHA-256). */
export const tokenKey = (token: string) => hashToken(token).slice(0, 32);

const retryAfter = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** A window's count for a key: the points spent in it, and the ms until it ends (rate-limiter-flexible's names). */
interface Spent {
  consumedPoints: number;
  msBeforeNext: number;
}

/**
 * Fixed windows in this process, counted as rate-limiter-flexible counts its own (a key's window opens with its first
 * point and lasts the window's duration), but answered at once. Ended windows are dropped once per duration, so the
 * map holds the keys of about the last two windows.
 */
class MemoryWindow {
  readonly points: number;
  private readonly durationMs: number;
  private readonly keys = new Map<string, { spent: number; endsAt: number }>();
  private nextSweep = 0;

  constructor(window: RateWindow) {
    this.points = window.points;
    this.durationMs = window.durationMs;
  }

  spend(key: string, points: number): Spent {
    const now = Date.now();
    if (now >= this.nextSweep) this.sweep(now);
    let counted = this.keys.get(key);
    if (!counted || counted.endsAt <= now) this.keys.set(key, (counted = { spent: 0, endsAt: now + this.durationMs }));
    counted.spent += points;
    return { consumedPoints: counted.spent, msBeforeNext: counted.endsAt - now };
  }

  get(key: string): Spent | null {
    const counted = this.keys.get(key);
    const now = Date.now();
    return counted && counted.endsAt > now ? { consumedPoints: counted.spent, msBeforeNext: counted.endsAt - now } : null;
  }

  private sweep(now: number) {
    for (const [key, counted] of this.keys) if (counted.endsAt <= now) this.keys.delete(key);
    this.nextSweep = now + this.durationMs;
  }
}

/** Open connections per key: a set in memory, or a sorted set in Redis (see the file's comment). */
interface SlotStore {
  acquire(key: string, max: number, member: string): Promise<boolean>;
  release(key: string, member: string): void;
  close(): void;
}

class MemorySlots implements SlotStore {
  private readonly open = new Map<string, Set<string>>();
  async acquire(key: string, max: number, member: string) {
    let members = this.open.get(key);
    if (!members) this.open.set(key, (members = new Set()));
    if (members.size >= max) return false;
    members.add(member);
    return true;
  }
  release(key: string, member: string) {
    const members = this.open.get(key);
    if (!members) return;
    members.delete(member);
    if (!members.size) this.open.delete(key);
  }
  close() {}
}

// KEYS[1] the sorted set; ARGV: now (ms), ttl (ms), max, member. Expired members (of replicas that died) go first.
const ACQUIRE_SLOT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

type SlotRedis = Redis & { sbAcquireSlot(key: string, now: number, ttl: number, max: number, member: string): Promise<number> };

class RedisSlots implements SlotStore {
  private readonly held = new Map<string, Set<string>>();
  private readonly refresh: NodeJS.Timeout;

  constructor(
    private readonly redis: SlotRedis,
    private readonly logger: Logger,
  ) {
    redis.defineCommand('sbAcquireSlot', { numberOfKeys: 1, lua: ACQUIRE_SLOT });
    // Connections still open push their expiry forward, well before it passes.
    this.refresh = setInterval(() => this.touch(), SLOT_TTL_MS / 3);
    this.refresh.unref();
  }

  async acquire(key: string, max: number, member: string) {
    try {
      const ok = (await this.redis.sbAcquireSlot(key, Date.now(), SLOT_TTL_MS, max, member)) === 1;
      if (ok) {
        let members = this.held.get(key);
        if (!members) this.held.set(key, (members = new Set()));
        members.add(member);
      }
      return ok;
    } catch (error) {
      // Redis down: the connection is let in (uncounted) rather than every subscriber refused.
      this.logger.warn({ err: error }, 'rate limit store unavailable: connection cap not applied');
      return true;
    }
  }

  release(key: string, member: string) {
    const members = this.held.get(key);
    if (!members?.delete(member)) return;
    if (!members.size) this.held.delete(key);
    this.redis.zrem(key, member).catch(() => undefined);
  }

  private touch() {
    if (!this.held.size) return;
    const expiry = Date.now() + SLOT_TTL_MS;
    const pipeline = this.redis.pipeline();
    for (const [key, members] of this.held) {
      for (const member of members) pipeline.zadd(key, expiry, member);
      pipeline.pexpire(key, SLOT_TTL_MS);
    }
    pipeline.exec().catch(() => undefined);
  }

  close() {
    clearInterval(this.refresh);
  }
}

/** A throttled call's turn: go after `waitMs` (the moment is reserved), or ask again in `retryInMs` (nothing reserved). */
export type Turn = { waitMs: number } | { retryInMs: number };

/** Each key's next free moment (ms): calls `intervalMs` apart, none reserved more than `horizonMs` ahead. */
interface TurnStore {
  take(key: string, intervalMs: number, horizonMs: number): Promise<Turn>;
}

class MemoryTurns implements TurnStore {
  private readonly next = new Map<string, number>();
  async take(key: string, intervalMs: number, horizonMs: number): Promise<Turn> {
    const now = Date.now();
    if (this.next.size > 10_000) for (const [k, at] of this.next) if (at < now) this.next.delete(k);
    const free = Math.max(this.next.get(key) ?? 0, now);
    if (free - now > horizonMs) return { retryInMs: free - now - horizonMs };
    this.next.set(key, free + intervalMs);
    return { waitMs: free - now };
  }
}

// KEYS[1] the key's next free moment (ms on Redis's clock); ARGV: interval (ms, may be fractional), horizon (ms).
// Answers {1, wait} with the moment reserved, or {0, wait} when it is further away than the horizon.
const TAKE_TURN = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
if free < now then free = now end
local wait = free - now
if wait > tonumber(ARGV[2]) then return {0, tostring(wait)} end
redis.call('SET', KEYS[1], string.format('%.3f', free + interval), 'PX', math.ceil(wait + interval) + 1000)
return {1, tostring(wait)}
`;

type TurnRedis = Redis & { sbTakeTurn(key: string, intervalMs: number, horizonMs: number): Promise<[number, string]> };

class RedisTurns implements TurnStore {
  private readonly fallback = new MemoryTurns();
  constructor(
    private readonly redis: TurnRedis,
    private readonly logger: Logger,
  ) {
    redis.defineCommand('sbTakeTurn', { numberOfKeys: 1, lua: TAKE_TURN });
  }

  async take(key: string, intervalMs: number, horizonMs: number): Promise<Turn> {
    try {
      const [reserved, wait] = await this.redis.sbTakeTurn(key, intervalMs, horizonMs);
      const ms = Math.max(0, Number(wait));
      return reserved === 1 ? { waitMs: ms } : { retryInMs: ms - horizonMs };
    } catch (error) {
      this.logger.warn({ err: error }, 'rate limit store unavailable: a delivery throttle counts on this replica only');
      return this.fallback.take(key, intervalMs, horizonMs);
    }
  }
}

export class RateLimits {
  readonly kind: 'redis' | 'memory';
  private readonly windows: Partial<Record<LimitName, MemoryWindow | RateLimiterRedis>> = {};
  /** Addresses' keys: an address's key never changes, so they live until the cache starts over when full. */
  private readonly addressKeys = new TtlCache<string, string>(Number.POSITIVE_INFINITY, ADDRESS_KEYS_KEPT);
  private readonly slots: SlotStore;
  private readonly turns: TurnStore;
  private readonly prefix: string;

  constructor(
    readonly config: RateLimitConfig,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly redis?: Redis,
  ) {
    this.kind = redis ? 'redis' : 'memory';
    this.prefix = `switchboard:rl:${config.namespace ? `${config.namespace}:` : ''}`;
    const windows: [LimitName, RateWindow | null][] = [
      ['address', config.address],
      ['token', config.token],
      ['auth_failures', config.authFailures],
      ['channel', config.channel],
      ['channel_bytes', config.channelBytes],
    ];
    for (const [name, window] of windows) if (window) this.windows[name] = this.windowLimiter(name, window);
    this.slots = redis ? new RedisSlots(redis as SlotRedis, logger) : new MemorySlots();
    this.turns = redis ? new RedisTurns(redis as TurnRedis, logger) : new MemoryTurns();
  }

  private windowLimiter(name: LimitName, window: RateWindow): MemoryWindow | RateLimiterRedis {
    if (!this.redis) return new MemoryWindow(window);
    const options = { keyPrefix: `${this.prefix}${name}`, points: window.points, duration: window.durationMs / 1000 };
    return new RateLimiterRedis({ ...options, storeClient: this.redis, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(options) });
  }

  private refuse(limit: LimitName, retryAfterSeconds: number): Refusal {
    this.metrics.rateLimited.inc({ limit });
    return { limit, retryAfterSeconds, message: `${MESSAGES[limit]}: retry after ${retryAfterSeconds} s` };
  }

  /**
   * `addressKey`, kept per address: every request is counted under its address, most come from a few, and parsing
   * one was a fiftieth of a webhook post. Bounded: a flood from many addresses empties it rather than growing it.
   */
  private addressKey(address: string | undefined): string {
    if (!address) return addressKey(address);
    let key = this.addressKeys.get(address);
    if (key === undefined) this.addressKeys.set(address, (key = addressKey(address)));
    return key;
  }

  /** Spend `points` of one window; a refusal once it is spent (refused requests count too). */
  private take(limit: LimitName, key: string, points = 1): Verdict {
    const limiter = this.windows[limit];
    if (!limiter || points <= 0) return null;
    const verdict = (spent: Spent) => (spent.consumedPoints > limiter.points ? this.refuse(limit, retryAfter(spent.msBeforeNext)) : null);
    if (limiter instanceof MemoryWindow) return verdict(limiter.spend(key, points));
    return limiter.consume(key, points).then(
      () => null,
      (error: unknown) => {
        if (error instanceof RateLimiterRes) return verdict(error);
        this.logger.warn({ err: error, limit }, 'rate limit store unavailable: limit not applied');
        return null;
      },
    );
  }

  /** One request (an HTTP request, a graphql-ws operation or connection) from this address. */
  fromAddress(address: string | undefined): Verdict {
    return this.take('address', this.addressKey(address));
  }

  /** One request that presents this token (whether or not it is valid). */
  withToken(token: string): Verdict {
    return this.take('token', tokenKey(token));
  }

  /** One post to an inbound channel (`key` names the channel or hook) of `bytes` body bytes. */
  inbound(key: string, bytes: number): Verdict {
    return firstRefusal([() => this.take('channel', key), () => this.take('channel_bytes', key, bytes)]);
  }

  /** Body bytes of a post counted after reading it (chunked bodies, which announce no length). */
  inboundBytes(key: string, bytes: number): Verdict {
    return this.take('channel_bytes', key, bytes);
  }

  /**
   * Whether this address has failed authentication too often: its requests that carry credentials are then
   * refused before any lookup, until the window ends. Only the address that guessed is refused, never the token
   * it guessed at: its holder elsewhere goes on.
   */
  authBlocked(address: string | undefined): Verdict {
    const limiter = this.windows.auth_failures;
    if (!limiter) return null;
    const verdict = (state: Spent | null) => (!state || state.consumedPoints < limiter.points ? null : this.refuse('auth_failures', retryAfter(state.msBeforeNext)));
    const key = this.addressKey(address);
    if (limiter instanceof MemoryWindow) return verdict(limiter.get(key));
    return limiter.get(key).then(verdict, (error: unknown) => {
      this.logger.warn({ err: error }, 'rate limit store unavailable: failed authentications not checked');
      return null;
    });
  }

  /** A credential that matched nothing (a token of no user, a wrong hook token ...) from this address. */
  async authFailed(address: string | undefined): Promise<void> {
    this.metrics.authFailures.inc();
    const limiter = this.windows.auth_failures;
    if (!limiter || address === undefined) return;
    const key = this.addressKey(address);
    if (limiter instanceof MemoryWindow) return void limiter.spend(key, 1);
    await limiter.penalty(key, 1).catch((error: unknown) => this.logger.warn({ err: error }, 'rate limit store unavailable: failed authentication not counted'));
  }

  /**
   * Hold a subscription connection's place under the caps of its address and (once known) its token.
   * A refusal names the cap that is full; nothing is held then.
   */
  async openConnection(address: string | undefined, token?: string | null): Promise<Lease | Refusal> {
    const held: Lease[] = [];
    const caps: [LimitName, number, string | null][] = [
      ['sockets_per_address', this.config.socketsPerAddress, address === undefined ? null : `a:${this.addressKey(address)}`],
      ['sockets_per_token', this.config.socketsPerToken, token ? `t:${tokenKey(token)}` : null],
    ];
    for (const [limit, max, id] of caps) {
      if (!max || !id) continue;
      const key = `${this.prefix}${limit}:${id}`;
      const member = randomUUID();
      if (!(await this.slots.acquire(key, max, member))) {
        for (const lease of held) lease.release();
        return this.refuse(limit, SLOT_RETRY_AFTER_SECONDS);
      }
      held.push(this.lease(key, member));
    }
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        for (const lease of held) lease.release();
      },
    };
  }

  private lease(key: string, member: string): Lease {
    return { release: () => this.slots.release(key, member) };
  }

  /**
   * The next turn of a call to a throttled target (`key` names it) of at most `perSecond` calls per second, shared by
   * every replica: how long to wait before sending, with the moment reserved; or, when the next free moment is more
   * than `horizonMs` away, how long to wait before asking again (nothing reserved, so the call can be held elsewhere).
   */
  async throttle(key: string, perSecond: number, horizonMs: number): Promise<Turn> {
    return this.turns.take(`${this.prefix}throttle:${key}`, 1_000 / perSecond, horizonMs);
  }

  /** Operations running at once on one graphql-ws socket (`running` includes the one being started). */
  tooManyOperations(running: number): Refusal | null {
    const max = this.config.subscriptionsPerSocket;
    return max && running > max ? this.refuse('subscriptions_per_socket', SLOT_RETRY_AFTER_SECONDS) : null;
  }

  async close() {
    this.slots.close();
    if (this.redis) await this.redis.quit().catch(() => this.redis!.disconnect());
  }
}

export const isRefusal = (value: Lease | Refusal): value is Refusal => 'limit' in value;

/**
 * The app's limits: on Redis (its own ioredis connection, which fails fast rather than queueing commands while
 * Redis is away) when REDIS_URL is set, in memory otherwise.
 */
export async function createRateLimits(config: RateLimitConfig, redisUrl: string | undefined, metrics: Metrics, logger: Logger): Promise<RateLimits> {
  if (!redisUrl) return new RateLimits(config, metrics, logger);
  const redis = await newRedis(redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  await redis.connect();
  return new RateLimits(config, metrics, logger, redis);
}
