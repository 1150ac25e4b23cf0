import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMetrics } from '../src/infra/metrics.js';
import { RateLimits, firstRefusal, type Refusal } from '../src/infra/rate-limit.js';

const window = (points: number, durationMs: number) => ({ points, durationMs });
const limits = () =>
  new RateLimits(
    { address: window(3, 1_000), token: null, authFailures: window(2, 5_000), channel: window(100, 1_000), channelBytes: window(1_000, 1_000), socketsPerAddress: 0, socketsPerToken: 0, subscriptionsPerSocket: 0 },
    createMetrics(),
    pino({ level: 'silent' }),
  );

describe('rate windows in memory', () => {
  afterEach(() => void vi.useRealTimers());

  it('answer at once, refuse past the points until the window ends, then open a new window', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const rl = limits();
    for (let i = 0; i < 3; i++) expect(rl.fromAddress('10.0.0.1')).toBeNull();
    vi.advanceTimersByTime(400);
    const refusal = rl.fromAddress('10.0.0.1') as Refusal;
    expect(refusal).toMatchObject({ limit: 'address', retryAfterSeconds: 1 });
    // Another address has its own window.
    expect(rl.fromAddress('10.0.0.2')).toBeNull();
    vi.advanceTimersByTime(600);
    expect(rl.fromAddress('10.0.0.1')).toBeNull();
  });

  it('keep a live window when ended ones are swept', () => {
    vi.useFakeTimers({ now: 2_000_000 });
    const rl = limits();
    rl.fromAddress('10.0.0.9');
    vi.advanceTimersByTime(900);
    for (let i = 0; i < 3; i++) rl.fromAddress('10.0.0.1');
    // The sweep at the next duration drops 10.0.0.9's ended window, not 10.0.0.1's live one.
    vi.advanceTimersByTime(200);
    expect(rl.fromAddress('10.0.0.1')).toMatchObject({ limit: 'address' });
  });

  it('count channel posts and bytes, and block an address after its failed authentications', async () => {
    vi.useFakeTimers({ now: 3_000_000 });
    const rl = limits();
    expect(rl.inbound('channel:a', 600)).toBeNull();
    expect(rl.inbound('channel:a', 600)).toMatchObject({ limit: 'channel_bytes' });
    expect(rl.authBlocked('10.0.0.3')).toBeNull();
    await rl.authFailed('10.0.0.3');
    await rl.authFailed('10.0.0.3');
    expect(rl.authBlocked('10.0.0.3')).toMatchObject({ limit: 'auth_failures', retryAfterSeconds: 5 });
    vi.advanceTimersByTime(5_000);
    expect(rl.authBlocked('10.0.0.3')).toBeNull();
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
