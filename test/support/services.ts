/**
 * The real services tests run against. SQLite always; PostgreSQL and Redis when reachable
 * (.ci/run starts both; locally, tests that need them are reported as skipped when they are down).
 */
import { MikroORM } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/switchboard_test';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function reachable(check: () => Promise<unknown>) {
  try {
    await check();
    return true;
  } catch {
    return false;
  }
}

export const postgresAvailable = await reachable(async () => {
  const orm = await MikroORM.init({ driver: PostgreSqlDriver, clientUrl: POSTGRES_URL, entities: [], discovery: { warnWhenNoEntities: false }, pool: { min: 0, max: 1 } });
  try {
    await orm.em.getConnection().execute('select 1');
  } finally {
    await orm.close(true);
  }
});

export const redisAvailable = await reachable(async () => {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
});

if (process.env.CI && (!postgresAvailable || !redisAvailable)) {
  throw new Error(`CI must run against real services: postgres=${postgresAvailable} redis=${redisAvailable}`);
}

export type DbKind = 'sqlite' | 'postgres';

/** The databases every suite runs on: `for (const db of databases) describe(db, ...)`. */
export const databases: DbKind[] = postgresAvailable ? ['sqlite', 'postgres'] : ['sqlite'];

/** A fresh, empty database of the given kind, and how to drop it. */
export async function freshDatabase(kind: DbKind): Promise<{ url: string; drop(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'sb-test-'));
    return { url: path.join(dir, 'switchboard.db'), drop: async () => {} };
  }
  const name = `sb_test_${randomBytes(5).toString('hex')}`;
  const admin = await MikroORM.init({ driver: PostgreSqlDriver, clientUrl: POSTGRES_URL, entities: [], discovery: { warnWhenNoEntities: false }, pool: { min: 0, max: 1 } });
  await admin.em.getConnection().execute(`create database ${name}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.em.getConnection().execute(`drop database if exists ${name} with (force)`);
      await admin.close(true);
    },
  };
}
