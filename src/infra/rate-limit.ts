/**
 * Rate limits and connection caps, one instance per app (built by buildApp, reached as `deps.rateLimits`),
 * shared by every door: REST and GraphQL over HTTP and SSE (src/rest/rate-limit.ts), graphql-ws
 * (src/graphql/socket-limits.ts), and openScope, which reports failed authentications.
 *
 * Request rates are fixed windows: with REDIS_URL each window is one Redis key, so every replica counts against the
 * same number; without, a map in this process (`MemoryWindow`), checked at once: a request's checks then cost no
 * promise. A request's windows (its address, token, channel ...) are spent in order in one Lua script, one round
 * trip whatever their number, stopping at the first that refuses, as the memory windows do. If Redis stops
 * answering, each replica counts in its own memory windows meanwhile rather than refusing or waiting.
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
import type { RateLimitConfig, RateWindow } from '../config.js';
import { parseAddress } from './address-guard.js';
import { hashToken } from './crypto.js';
import { newRedis, type Redis } from './redis.js';
import { TtlCache } from './ttl-cache.js';
import type { Metrics } from './metrics.js';

/** The limits, as named in /metrics (`limit` label), in 429 bodies and in the README. */
export type LimitName = WindowName | 'sockets_per_address' | 'sockets_per_token' | 'subscriptions_per_socket';

/** The limits counted in windows (the others are caps on what is open). */
export type WindowName = 'address' | 'token' | 'auth_failures' | 'channel' | 'channel_bytes';

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
/** While Redis does not answer, how often one spend asks it whether it is back. */
const PROBE_EVERY_MS = 1_000;
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

/** A window's count for a key: the points spent in it, and the ms until it ends. */
interface Spent {
  consumedPoints: number;
  msBeforeNext: number;
}

/**
 * Points a request spends in one window, or (`look`) none: it is refused if the window is already spent (an
 * address's failed authentications, counted elsewhere).
 */
export interface Spend {
  limit: WindowName;
  key: string;
  points: number;
  look?: boolean;
}

/** The first spend of a request that was refused, with its window's count then. */
type Overspent = { index: number } & Spent;

/**
 * Fixed windows in this process (a key's window opens with its first point and lasts the window's duration),
 * answered at once. Ended windows are dropped once per duration, so the map holds the keys of about the last two
 * windows.
 */
class MemoryWindow {
  readonly points: number;
  readonly durationMs: number;
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

// KEYS: the windows' keys, in the request's order. ARGV: per key, the points to spend (0: only look), the window's
// points and its duration (ms). Spends in order until one is over its points (a look: at them) and returns
// {its position, its count, ms until its window ends}, or 0 when none refused: the same answers as MemoryWindow's.
const SPEND_WINDOWS = `
for i = 1, #KEYS do
  local points, limit = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1])
  if points == 0 then
    local spent = tonumber(redis.call('GET', KEYS[i]) or '0')
    if spent >= limit then return {i, spent, redis.call('PTTL', KEYS[i])} end
  else
    redis.call('SET', KEYS[i], 0, 'PX', ARGV[3 * i], 'NX')
    local spent = redis.call('INCRBY', KEYS[i], points)
    if spent > limit then return {i, spent, redis.call('PTTL', KEYS[i])} end
  end
end
return 0
`;

type WindowRedis = Redis & { sbSpendWindows(keys: number, ...args: (string | number)[]): Promise<0 | [number, number, number]> };

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

/** Members refreshed by one ZADD: large enough that a refresh is a few commands, small enough not to hold Redis long. */
const SLOT_REFRESH_CHUNK = 1_000;

export class RedisSlots implements SlotStore {
  private readonly held = new Map<string, Set<string>>();
  private readonly refresh: NodeJS.Timeout;

  constructor(
    private readonly redis: SlotRedis,
    private readonly logger: Logger,
    private readonly ttlMs = SLOT_TTL_MS,
  ) {
    redis.defineCommand('sbAcquireSlot', { numberOfKeys: 1, lua: ACQUIRE_SLOT });
    // Connections still open push their expiry forward, well before it passes.
    this.refresh = setInterval(() => this.touch(), ttlMs / 3);
    this.refresh.unref();
  }

  async acquire(key: string, max: number, member: string) {
    try {
      const ok = (await this.redis.sbAcquireSlot(key, Date.now(), this.ttlMs, max, member)) === 1;
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

  /**
   * One ZADD per key carrying its members' new expiry, not one per connection: with 1,000 subscribers a command
   * each took the event loop 25-90 ms every refresh (building, then settling 2,000 replies), a pause every live
   * message then waited behind; one command per key takes 4-11 ms, mostly Redis's.
   */
  private touch() {
    if (!this.held.size) return;
    const expiry = Date.now() + this.ttlMs;
    const pipeline = this.redis.pipeline();
    for (const [key, members] of this.held) {
      let scored: (number | string)[] = [];
      for (const member of members) {
        scored.push(expiry, member);
        if (scored.length === 2 * SLOT_REFRESH_CHUNK) {
          pipeline.zadd(key, ...scored);
          scored = [];
        }
      }
      if (scored.length) pipeline.zadd(key, ...scored);
      pipeline.pexpire(key, this.ttlMs);
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
  /**
   * The windows in this process: the only count without Redis, and each replica's own count while Redis does not
   * answer.
   */
  private readonly windows: Partial<Record<WindowName, MemoryWindow>> = {};
  /** Addresses' keys: an address's key never changes, so they live until the cache starts over when full. */
  private readonly addressKeys = new TtlCache<string, string>(Number.POSITIVE_INFINITY, ADDRESS_KEYS_KEPT);
  private readonly slots: SlotStore;
  private readonly turns: TurnStore;
  private readonly prefix: string;
  /** Whether Redis failed to answer and no probe since has had an answer: an outage is logged when it starts and ends. */
  private redisDown = false;
  private probing = false;
  private nextProbeAt = 0;

  constructor(
    readonly config: RateLimitConfig,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly redis?: Redis,
  ) {
    this.kind = redis ? 'redis' : 'memory';
    this.prefix = `switchboard:rl:${config.namespace ? `${config.namespace}:` : ''}`;
    const windows: [WindowName, RateWindow | null][] = [
      ['address', config.address],
      ['token', config.token],
      ['auth_failures', config.authFailures],
      ['channel', config.channel],
      ['channel_bytes', config.channelBytes],
    ];
    for (const [name, window] of windows) if (window) this.windows[name] = new MemoryWindow(window);
    if (redis) redis.defineCommand('sbSpendWindows', { lua: SPEND_WINDOWS });
    this.slots = redis ? new RedisSlots(redis as SlotRedis, logger) : new MemorySlots();
    this.turns = redis ? new RedisTurns(redis as TurnRedis, logger) : new MemoryTurns();
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

  /** One request (an HTTP request, a graphql-ws operation or connection) from this address. */
  perAddress(address: string | undefined): Spend {
    return { limit: 'address', key: this.addressKey(address), points: 1 };
  }

  /** One request that presents this token (whether or not it is valid). */
  perToken(token: string): Spend {
    return { limit: 'token', key: tokenKey(token), points: 1 };
  }

  /**
   * Whether this address has failed authentication too often: its requests that carry credentials are then
   * refused before any lookup, until the window ends. Only the address that guessed is refused, never the token
   * it guessed at: its holder elsewhere goes on.
   */
  blockedAddress(address: string | undefined): Spend {
    return { limit: 'auth_failures', key: this.addressKey(address), points: 0, look: true };
  }

  /** One post to an inbound channel (`key` names the channel or hook) of `bytes` body bytes. */
  perChannel(key: string, bytes: number): Spend[] {
    return [{ limit: 'channel', key, points: 1 }, this.channelBytes(key, bytes)];
  }

  /** Body bytes posted to an inbound channel, alone: a chunked body's, counted once read, as it announces no length. */
  channelBytes(key: string, bytes: number): Spend {
    return { limit: 'channel_bytes', key, points: bytes };
  }

  /**
   * Spend a request's windows in order, each only while none before it refused: the first refusal, or null. At once
   * in memory; by promise, in one round trip, on Redis.
   */
  check(spends: readonly Spend[]): Verdict {
    const live = spends.filter((spend) => this.windows[spend.limit] && (spend.look || spend.points > 0));
    if (!live.length) return null;
    const refusal = (overspent: Overspent | null) => {
      if (!overspent) return null;
      return this.refuse(live[overspent.index]!.limit, retryAfter(overspent.msBeforeNext));
    };
    const spent = this.spend(live);
    return spent instanceof Promise ? spent.then(refusal) : refusal(spent);
  }

  /** A credential that matched nothing (a token of no user, a wrong hook token ...) from this address. */
  async authFailed(address: string | undefined): Promise<void> {
    this.metrics.authFailures.inc();
    if (!this.windows.auth_failures || address === undefined) return;
    await this.spend([{ limit: 'auth_failures', key: this.addressKey(address), points: 1 }]);
  }

  /**
   * Spend windows that exist, in order, up to the first one over: in Redis, or in memory without it. Once Redis has
   * failed to answer (an error, or no reply within the store's timeout), spends are counted in memory at once, not
   * each waiting out the timeout again, while one probe a second asks Redis whether it is back.
   */
  private spend(spends: readonly Spend[]): Overspent | null | Promise<Overspent | null> {
    if (!this.redis) return this.spendInMemory(spends);
    if (this.redisDown) {
      this.probe(this.redis);
      return this.spendInMemory(spends);
    }
    return this.spendInRedis(this.redis, spends).catch((error: unknown) => {
      if (!this.redisDown) this.logger.warn({ err: error }, 'rate limit store unavailable: counting in this replica until it answers');
      this.redisDown = true;
      this.nextProbeAt = Date.now() + PROBE_EVERY_MS;
      return this.spendInMemory(spends);
    });
  }

  private probe(redis: Redis) {
    if (this.probing || Date.now() < this.nextProbeAt) return;
    this.probing = true;
    redis.ping().then(
      () => {
        this.probing = false;
        this.redisDown = false;
        this.logger.info('rate limit store answers again: counting in Redis');
      },
      () => {
        this.probing = false;
        this.nextProbeAt = Date.now() + PROBE_EVERY_MS;
      },
    );
  }

  private spendInMemory(spends: readonly Spend[]): Overspent | null {
    for (let index = 0; index < spends.length; index++) {
      const { limit, key, points, look } = spends[index]!;
      const window = this.windows[limit]!;
      if (look) {
        const state = window.get(key);
        if (state && state.consumedPoints >= window.points) return { index, ...state };
        continue;
      }
      const state = window.spend(key, points);
      if (state.consumedPoints > window.points) return { index, ...state };
    }
    return null;
  }

  private async spendInRedis(redis: Redis, spends: readonly Spend[]): Promise<Overspent | null> {
    const keys: string[] = [];
    const args: number[] = [];
    for (const { limit, key, points, look } of spends) {
      const window = this.windows[limit]!;
      keys.push(`${this.prefix}${limit}:${key}`);
      args.push(look ? 0 : points, window.points, window.durationMs);
    }
    const answer = await (redis as WindowRedis).sbSpendWindows(keys.length, ...keys, ...args);
    return answer === 0 ? null : { index: answer[0] - 1, consumedPoints: answer[1], msBeforeNext: answer[2] };
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
 * Redis is away, or waiting on one that does not answer) when REDIS_URL is set, in memory otherwise.
 */
export async function createRateLimits(config: RateLimitConfig, redisUrl: string | undefined, metrics: Metrics, logger: Logger): Promise<RateLimits> {
  if (!redisUrl) return new RateLimits(config, metrics, logger);
  // commandTimeout: a Redis that takes commands and never answers (stopped, or cut off without a reset) fails them
  // rather than holding every request.
  const redis = await newRedis(redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: config.storeTimeoutMs });
  redis.on('error', () => undefined);
  await redis.connect();
  return new RateLimits(config, metrics, logger, redis);
}
