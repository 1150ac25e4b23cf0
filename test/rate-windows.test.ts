import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createMetrics } from '../src/infra/metrics.js';
import { RateLimits, RedisSlots, createRateLimits, firstRefusal, type Refusal } from '../src/infra/rate-limit.js';
import { newRedis, type Redis } from '../src/infra/redis.js';
import { REDIS_URL, redisAvailable } from './support/services.js';

const window = (points: number, durationMs: number) => ({ points, durationMs });
const configOf = () => ({
  address: window(3, 1_000),
  token: null,
  authFailures: window(2, 5_000),
  channel: window(100, 1_000),
  channelBytes: window(1_000, 1_000),
  socketsPerAddress: 0,
  socketsPerToken: 0,
  subscriptionsPerSocket: 0,
});
const limits = () => new RateLimits(configOf(), createMetrics(), pino({ level: 'silent' }));

describe('rate windows in memory', () => {
  afterEach(() => void vi.useRealTimers());

  it('answer at once, refuse past the points until the window ends, then open a new window', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const rl = limits();
    for (let i = 0; i < 3; i++) expect(rl.check([rl.perAddress('10.0.0.1')])).toBeNull();
    vi.advanceTimersByTime(400);
    const refusal = rl.check([rl.perAddress('10.0.0.1')]) as Refusal;
    expect(refusal).toMatchObject({ limit: 'address', retryAfterSeconds: 1 });
    // Another address has its own window.
    expect(rl.check([rl.perAddress('10.0.0.2')])).toBeNull();
    vi.advanceTimersByTime(600);
    expect(rl.check([rl.perAddress('10.0.0.1')])).toBeNull();
  });

  it('keep a live window when ended ones are swept', () => {
    vi.useFakeTimers({ now: 2_000_000 });
    const rl = limits();
    rl.check([rl.perAddress('10.0.0.9')]);
    vi.advanceTimersByTime(900);
    for (let i = 0; i < 3; i++) rl.check([rl.perAddress('10.0.0.1')]);
    // The sweep at the next duration drops 10.0.0.9's ended window, not 10.0.0.1's live one.
    vi.advanceTimersByTime(200);
    expect(rl.check([rl.perAddress('10.0.0.1')])).toMatchObject({ limit: 'address' });
  });

  it('count channel posts and bytes, and block an address after its failed authentications', async () => {
    vi.useFakeTimers({ now: 3_000_000 });
    const rl = limits();
    expect(rl.check(rl.perChannel('channel:a', 600))).toBeNull();
    expect(rl.check(rl.perChannel('channel:a', 600))).toMatchObject({ limit: 'channel_bytes' });
    expect(rl.check([rl.blockedAddress('10.0.0.3')])).toBeNull();
    await rl.authFailed('10.0.0.3');
    await rl.authFailed('10.0.0.3');
    expect(rl.check([rl.blockedAddress('10.0.0.3')])).toMatchObject({ limit: 'auth_failures', retryAfterSeconds: 5 });
    vi.advanceTimersByTime(5_000);
    expect(rl.check([rl.blockedAddress('10.0.0.3')])).toBeNull();
  });

  it('firstRefusal runs checks in order until one refuses, at once or by promise', async () => {
    const seen: number[] = [];
    const refusal: Refusal = { limit: 'token', retryAfterSeconds: 1, message: 'no' };
    expect(firstRefusal([() => (seen.push(1), null), () => (seen.push(2), refusal), () => (seen.push(3), null)])).toBe(refusal);
    expect(seen).toEqual([1, 2]);
    const later = firstRefusal([() => (seen.push(4), null), async () => (seen.push(5), null), () => (seen.push(6), refusal)]);
    expect(later).toBeInstanceOf(Promise);
    expect(await later).toBe(refusal);
    expect(seen).toEqual([1, 2, 4, 5, 6]);
  });
});

describe.skipIf(!redisAvailable)('rate windows and connection caps on Redis', () => {
  const clients: Redis[] = [];
  const client = async () => {
    const redis = await newRedis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    await redis.connect();
    clients.push(redis);
    return redis;
  };
  const onRedis = (redis: Redis, logged: string[] = []) =>
    new RateLimits(
      { ...configOf(), namespace: randomUUID() },
      createMetrics(),
      pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line).msg) }),
      redis,
    );
  afterAll(() => {
    for (const redis of clients) redis.disconnect();
  });

  it("spend a request's windows in order, in one round trip, up to the first that refuses", async () => {
    const redis = await client();
    const rl = onRedis(redis);
    const trips = vi.spyOn(redis as unknown as { sbSpendWindows: () => unknown }, 'sbSpendWindows');
    const request = () => rl.check([rl.perAddress('10.1.0.1'), ...rl.perChannel('channel:r', 10)]);
    for (let i = 0; i < 3; i++) expect(await request()).toBeNull();
    expect(await request()).toMatchObject({ limit: 'address', retryAfterSeconds: 1 });
    expect(trips).toHaveBeenCalledTimes(4);
    // The refused request stopped at its address: the channel counted three posts, not four.
    const channelKey = (await redis.keys(`switchboard:rl:${rl.config.namespace}:channel:*`))[0]!;
    expect(await redis.get(channelKey)).toBe('3');
    // Bytes over the channel's window refuse on that window.
    expect(await rl.check(rl.perChannel('channel:s', 1_001))).toMatchObject({ limit: 'channel_bytes' });
  });

  it('block an address after its failed authentications, shared by every RateLimits on the same Redis', async () => {
    const [a, b] = [await client(), await client()];
    const first = onRedis(a);
    const second = new RateLimits(first.config, createMetrics(), pino({ level: 'silent' }), b);
    expect(await second.check([second.blockedAddress('10.1.0.3')])).toBeNull();
    await first.authFailed('10.1.0.3');
    await first.authFailed('10.1.0.3');
    expect(await second.check([second.blockedAddress('10.1.0.3')])).toMatchObject({ limit: 'auth_failures', retryAfterSeconds: 5 });
    expect(await second.check([second.blockedAddress('10.1.0.4')])).toBeNull();
  });

  it('count in memory while Redis does not answer, saying so once, and in Redis again once it does', async () => {
    const redis = await client();
    const logged: string[] = [];
    const rl = onRedis(redis, logged);
    expect(await rl.check([rl.perAddress('10.1.0.5')])).toBeNull();
    redis.disconnect();
    expect(await rl.check([rl.perAddress('10.1.0.5')])).toBeNull();
    expect(await rl.check([rl.perAddress('10.1.0.5')])).toBeNull();
    expect(await rl.check([rl.perAddress('10.1.0.5')])).toBeNull();
    // The memory window has counted three of its three points here: the fourth is refused.
    expect(await rl.check([rl.perAddress('10.1.0.5')])).toMatchObject({ limit: 'address' });
    expect(logged.filter((msg) => msg.startsWith('rate limit store unavailable'))).toHaveLength(1);
    if (redis.status !== 'end') await new Promise((resolve) => redis.once('end', resolve));
    await redis.connect();
    // A probe a second finds it back.
    await vi.waitFor(() => {
      rl.check([rl.perAddress('10.1.0.6')]);
      expect(logged).toContain('rate limit store answers again: counting in Redis');
    }, { timeout: 5_000, interval: 100 });
    expect(await rl.check([rl.perAddress('10.1.0.6')])).toBeNull();
    expect(await redis.keys(`switchboard:rl:${rl.config.namespace}:address:*`)).toHaveLength(1);
  });

  it('keep the places of connections still open past the expiry of their entries', async () => {
    const redis = await client();
    const slots = new RedisSlots(redis as never, pino({ level: 'silent' }), 300);
    const key = `switchboard:rl:test:${randomUUID()}`;
    try {
      for (const member of ['m1', 'm2', 'm3']) expect(await slots.acquire(key, 3, member)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 800));
      // Refreshed every ttl/3: all three are still held, with expiries ahead, so a fourth is refused.
      const scored = await redis.zrange(key, 0, -1, 'WITHSCORES');
      expect(scored.filter((_, i) => i % 2 === 0).sort()).toEqual(['m1', 'm2', 'm3']);
      for (let i = 1; i < scored.length; i += 2) expect(Number(scored[i])).toBeGreaterThan(Date.now());
      expect(await slots.acquire(key, 3, 'm4')).toBe(false);
      slots.release(key, 'm2');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await slots.acquire(key, 3, 'm4')).toBe(true);
    } finally {
      slots.close();
      await redis.del(key);
    }
  });
});

describe.skipIf(!redisAvailable)('rate limits while their Redis hangs', () => {
  it('answer within the store timeout, then from memory at once, and from Redis again once it answers', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const logged: string[] = [];
    let rl: RateLimits | undefined;
    try {
      await vi.waitFor(() => new Promise((resolve, reject) => connect(port, '127.0.0.1').once('connect', function (this: Socket) { this.destroy(); resolve(null); }).once('error', reject)), { timeout: 10_000, interval: 100 });
      const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line).msg) });
      rl = await createRateLimits({ ...configOf(), namespace: 'hang', storeTimeoutMs: 200 }, `redis://127.0.0.1:${port}`, createMetrics(), logger);
      expect(await rl.check([rl.perAddress('10.2.0.1')])).toBeNull();
      // A server that takes the connection's bytes and never answers: no reset, no close.
      server.kill('SIGSTOP');
      let started = performance.now();
      expect(await rl.check([rl.perAddress('10.2.0.1')])).toBeNull();
      expect(performance.now() - started).toBeLessThan(1_000);
      // Known down: the next checks answer from memory without waiting on Redis again.
      started = performance.now();
      expect(rl.check([rl.perAddress('10.2.0.1')])).toBeNull();
      expect(rl.check([rl.perAddress('10.2.0.1')])).toBeNull();
      expect(rl.check([rl.perAddress('10.2.0.1')])).toMatchObject({ limit: 'address' });
      expect(logged.filter((msg) => msg.startsWith('rate limit store unavailable'))).toHaveLength(1);
      server.kill('SIGCONT');
      await vi.waitFor(async () => {
        await rl!.check([rl!.perAddress('10.2.0.2')]);
        expect(logged).toContain('rate limit store answers again: counting in Redis');
      }, { timeout: 5_000, interval: 100 });
      const inRedis = rl.check([rl.perAddress('10.2.0.2')]);
      expect(inRedis).toBeInstanceOf(Promise);
      expect(await inRedis).toBeNull();
    } finally {
      server.kill('SIGCONT');
      server.kill('SIGKILL');
      await rl?.close();
    }
  });
});
