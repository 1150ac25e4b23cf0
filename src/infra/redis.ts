/**
 * A Redis client for one of the app's parts (pubsub, rate limits, readiness probes). ioredis is loaded on the first
 * call, that is only when REDIS_URL is set: on the embedded default, start-up never pays for loading it.
 */
import type { Redis, RedisOptions } from 'ioredis';

export type { Redis };

export async function newRedis(url: string, options: RedisOptions): Promise<Redis> {
  const { Redis } = await import('ioredis');
  return new Redis(url, options);
}
