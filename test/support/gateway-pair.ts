/**
 * Two gateway processes on one fresh database and the shared Redis: what tests of state shared across replicas
 * (rate limits, throttles, ordering) run against.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnGateway, type GatewayProcess } from '../../bench/spawn.js';
import { ADMIN_TOKEN } from './app.js';
import { freshDatabase, postgresAvailable, redisAvailable, REDIS_URL, type DbKind } from './services.js';

/** The databases a pair runs on: a SQLite file both processes open, and PostgreSQL; each needs Redis. */
export const GATEWAY_PAIR_CASES: { label: string; db: DbKind; available: boolean }[] = [
  { label: 'SQLite file', db: 'sqlite', available: redisAvailable },
  { label: 'PostgreSQL', db: 'postgres', available: redisAvailable && postgresAvailable },
];

export interface GatewayPair {
  a: GatewayProcess;
  b: GatewayProcess;
  /** Stop both processes and drop the database. */
  stop(): Promise<void>;
}

/** Start the pair with `env` on top of the common settings; its rate-limit keys are this pair's own. */
export async function startGatewayPair(db: DbKind, env: Record<string, string> = {}): Promise<GatewayPair> {
  const database = await freshDatabase(db);
  const common = {
    DATABASE_URL: database.url,
    REDIS_URL,
    SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
    SWITCHBOARD_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'sb-pair-')),
    OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8',
    // Keys of this run only (the Redis server is shared with other suites).
    RATE_LIMIT_NAMESPACE: `t${randomBytes(4).toString('hex')}`,
    ...env,
  };
  // One after the other: the first one migrates the fresh database.
  const a = await spawnGateway(common);
  const b = await spawnGateway(common);
  return {
    a,
    b,
    async stop() {
      await Promise.all([a.stop(), b.stop()]);
      await database.drop();
    },
  };
}
