import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture, freePort, startOpsApp, type OpsApp } from './support/ops.js';
import { POSTGRES_URL, REDIS_URL, databases, freshDatabase, postgresAvailable, redisAvailable } from './support/services.js';
import { MikroORM } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

for (const db of databases) {
  describe(`health and readiness (${db})`, () => {
    let t: OpsApp;
    beforeAll(async () => {
      t = await startOpsApp(db);
    });
    afterAll(() => t.close());

    it('answers /healthz while the process is alive', async () => {
      const res = await fetch(`${t.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ok' });
    });

    it('answers /readyz 200 naming the database as up, migrations applied', async () => {
      const res = await fetch(`${t.url}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        status: 'ready',
        checks: {
          database: { status: 'up', detail: 'reachable, migrations applied' },
          'job store': { status: 'up', detail: `Embedded (${db === 'sqlite' ? 'SQLite' : 'PostgreSQL'} via MikroORM) reachable` },
        },
      });
    });

    it('honours and echoes a caller x-request-id, and replaces one that is not plain', async () => {
      const mine = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'trace-42.abc' } });
      expect(mine.headers.get('x-request-id')).toBe('trace-42.abc');
      const evil = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'a"} forged {"level":60' } });
      expect(evil.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const none = await fetch(`${t.url}/nowhere`);
      expect(none.status).toBe(404);
      expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe(`readiness when a migration is missing (${db})`, () => {
    it('answers /readyz 503 naming the migration not applied, while /healthz stays 200', async () => {
      const t = await startOpsApp(db);
      try {
        const conn = t.app.orm.em.getConnection();
        const [last] = await conn.execute<{ name: string }[]>('select name from mikro_orm_migrations order by id desc limit 1');
        await conn.execute('delete from mikro_orm_migrations where name = ?', [last.name]);
        const res = await fetch(`${t.url}/readyz`);
        expect(res.status).toBe(503);
        const body = (await res.json()) as { status: string; checks: Record<string, { status: string; error?: string }> };
        expect(body.status).toBe('unavailable');
        expect(body.checks.database).toEqual({ status: 'down', error: `1 migration(s) not applied: ${last.name.replace(/\.[jt]s$/, '')}` });
        expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
      } finally {
        await t.close();
      }
    });
  });
}

describe.skipIf(!postgresAvailable)('readiness when PostgreSQL is gone', () => {
  it('answers /readyz 503 naming the database and why, and still shuts down cleanly', async () => {
    const t = await startOpsApp('postgres');
    const name = new URL(t.databaseUrl).pathname.slice(1);
    const admin = await MikroORM.init({ driver: PostgreSqlDriver, clientUrl: POSTGRES_URL, entities: [], discovery: { warnWhenNoEntities: false }, pool: { min: 0, max: 1 } });
    try {
      await admin.em.getConnection().execute(`drop database ${name} with (force)`);
      const res = await fetch(`${t.url}/readyz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { status: string; checks: Record<string, unknown> };
      expect(body.status).toBe('unavailable');
      expect(body.checks.database).toEqual({ status: 'down', error: `database "${name}" does not exist` });
      // The embedded job store lives in the same database: it is down too.
      expect(body.checks['job store']).toMatchObject({ status: 'down' });
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    } finally {
      await admin.close(true);
      await t.app.stop();
    }
  });
});

describe.skipIf(!postgresAvailable)('startup waits for the database', () => {
  const sockets = new Set<Socket>();
  let proxy: Server | undefined;
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    if (proxy) await new Promise<void>((resolve) => proxy!.close(() => resolve()));
  });

  it('retries with backoff and a clear log until PostgreSQL answers, then starts', async () => {
    const database = await freshDatabase('postgres');
    const target = new URL(database.url);
    const port = await freePort();
    const viaProxy = new URL(database.url);
    viaProxy.port = String(port);
    viaProxy.hostname = '127.0.0.1';

    // The database "comes up" 1.5 s after the gateway starts: a TCP proxy to the real server on that port.
    const opening = setTimeout(() => {
      proxy = createServer((client) => {
        const upstream = createConnection(Number(target.port || 5432), target.hostname);
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      });
      proxy.listen(port, '127.0.0.1');
    }, 1_500);

    const logs = new LogCapture();
    const started = Date.now();
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: viaProxy.toString(),
      SWITCHBOARD_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'sb-data-')),
      LOG_LEVEL: 'info',
    });
    const app = await buildApp(config, { logDestination: logs, startupTimeoutMs: 20_000 });
    try {
      clearTimeout(opening);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
      const waits = logs.lines.filter((l) => l.dependency === 'database' && l.level === 40);
      expect(waits.length).toBeGreaterThanOrEqual(2);
      expect(String(waits[0].msg)).toMatch(/^waiting for database: /);
      // Backoff: each wait is at least as long as the one before.
      const delays = waits.map((w) => Number(w.retryInMs));
      expect(delays).toEqual([...delays].sort((a, b) => a - b));
      expect(logs.lines.some((l) => l.msg === 'database is reachable')).toBe(true);
      // The password in DATABASE_URL never reaches a log line.
      expect(logs.text).not.toContain(`:${target.password}@`);
      const url = await app.start();
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    } finally {
      await app.stop();
      await database.drop();
    }
  });

  it('gives up with the last error after the startup timeout', async () => {
    const port = await freePort();
    const logs = new LogCapture();
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: `postgresql://postgres:postgres@127.0.0.1:${port}/nowhere`,
      SWITCHBOARD_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'sb-data-')),
      LOG_LEVEL: 'info',
    });
    await expect(buildApp(config, { logDestination: logs, startupTimeoutMs: 1_000 })).rejects.toThrow();
    expect(logs.lines.some((l) => l.level === 50 && /database is still unreachable/.test(String(l.msg)))).toBe(true);
  });
});


describe.skipIf(!redisAvailable)('readiness with Redis configured', () => {
  it('names Redis in /readyz, and reports it down when it stops answering', async () => {
    // A TCP proxy in front of the real Redis stands for the network path this replica uses.
    const target = new URL(REDIS_URL);
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      const upstream = createConnection(Number(target.port || 6379), target.hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as { port: number }).port;
    const t = await startOpsApp('sqlite', { env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
    try {
      const up = await fetch(`${t.url}/readyz`);
      expect(up.status).toBe(200);
      expect(((await up.json()) as { checks: Record<string, unknown> }).checks.redis).toEqual({ status: 'up', detail: 'reachable' });
      const closed = new Promise<void>((resolve) => proxy.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      const down = await fetch(`${t.url}/readyz`);
      expect(down.status).toBe(503);
      const body = (await down.json()) as { checks: Record<string, { status: string; error?: string }> };
      expect(body.checks.redis.status).toBe('down');
      expect(body.checks.redis.error).toMatch(/ECONNREFUSED/);
      expect(body.checks.database.status).toBe('up');
    } finally {
      for (const s of sockets) s.destroy();
      await t.close();
      if (proxy.listening) await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});
