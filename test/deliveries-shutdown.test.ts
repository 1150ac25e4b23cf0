/**
 * The delivery worker on stop: every claim it did not finish is handed back (unlocked) at once, within the
 * shutdown budget, so a restarted process or another replica retries it without waiting out the 120 s lease.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { Delivery } from '../src/modules/deliveries/delivery.entity.js';
import { ADMIN_TOKEN } from './support/app.js';
import { json, serveJson, startServer, type LocalServer } from './support/http-server.js';
import { freePort, remoteGateway, spawnGateway, startOpsApp, type GatewayProcess } from './support/ops.js';
import { addIntegration, createChannel, createOrg } from './support/seed.js';
import { databases, freshDatabase } from './support/services.js';
import { until } from './support/wait.js';

/** A target that holds every call until it is switched on, then answers 200. */
async function switchableTarget() {
  let up = false;
  const held: (() => void)[] = [];
  const server = await startServer(async (_req, res) => {
    if (!up) await new Promise<void>((resolve) => held.push(resolve));
    json(res, 200, { ok: true });
  });
  return {
    server,
    switchOn() {
      up = true;
      for (const r of held.splice(0)) r();
    },
  };
}

for (const db of databases) {
  describe(`delivery worker stop hands back what it did not send (${db})`, () => {
    let database: Awaited<ReturnType<typeof freshDatabase>>;
    let app: App;
    let orgId: string;
    let channelId: string;
    const servers: LocalServer[] = [];

    beforeAll(async () => {
      database = await freshDatabase(db);
      // Seed through a running gateway, then stop it: the tests drive their own workers on the database.
      const seeder = await startOpsApp(db, { level: 'silent', databaseUrl: database.url });
      orgId = await createOrg(seeder, 'Stop');
      channelId = (await createChannel(seeder, orgId, 'stop')).id;
      await seeder.close();
      const config = loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: database.url,
        SWITCHBOARD_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'sb-data-')),
        SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
        OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8,::1',
        LOG_LEVEL: 'silent',
      });
      app = await buildApp(config); // not started: no worker of its own
    });
    afterAll(async () => {
      await app?.stop();
      await Promise.all(servers.map((s) => s.close()));
      await database?.drop();
    });

    const rowsOf = (kind: string) => app.orm.em.fork().find(Delivery, { kind }, { orderBy: { id: 'asc' } });

    it('releases the claims of a poll that was running when stop began', async () => {
      const target = await switchableTarget();
      servers.push(target.server);
      for (let i = 0; i < 3; i++) {
        await app.deps.deliveries.enqueue(app.orm.em.fork(), { kind: 'stop_poll', organisationId: orgId, channelId, url: `${target.server.url}/p${i}`, retry: [] });
      }
      expect((await rowsOf('stop_poll')).map((r) => r.lockedBy)).toEqual([null, null, null]);
      // Its first poll is running (claiming the three rows) when stop is called.
      const worker = app.deps.deliveries.startWorker(app.orm, app.deps, { pollMs: 3_600_000, concurrency: 4 });
      await worker.stop({ deadline: Date.now() + 2_000 });
      expect(target.server.requests).toHaveLength(0);
      expect((await rowsOf('stop_poll')).map((r) => ({ status: r.status, lockedBy: r.lockedBy }))).toEqual(
        Array.from({ length: 3 }, () => ({ status: 'pending', lockedBy: null })),
      );
    });

    it('releases rows waiting for a slot, rows dispatched during the stop, and calls still in flight at the deadline; a new worker sends each once', async () => {
      const target = await switchableTarget();
      servers.push(target.server);
      const worker = app.deps.deliveries.startWorker(app.orm, app.deps, { pollMs: 3_600_000, concurrency: 1 });
      const em = app.orm.em.fork();
      // One slot: the first call is in flight (held by the target), the next two wait for the slot.
      for (let i = 0; i < 3; i++) await app.deps.deliveries.enqueue(em, { kind: 'stop_wait', organisationId: orgId, channelId, url: `${target.server.url}/w${i}`, retry: [] });
      await until(() => target.server.requests.length === 1, 5_000, 'the first call');
      // A row committed with this worker's claim before the stop, handed over while it stops.
      const [prepared] = app.deps.deliveries.stage([{ kind: 'stop_wait', organisationId: orgId, channelId, url: `${target.server.url}/late`, retry: [] }]);
      expect(prepared.lockedBy).toBeTruthy();
      await em.insert(Delivery, prepared as never);

      const deadline = Date.now() + 1_000;
      const stopping = worker.stop({ deadline });
      app.deps.deliveries.dispatch([prepared]);
      await stopping;
      // stop() kept to its budget although the call in flight never answered.
      expect(Date.now()).toBeLessThan(deadline + 500);
      const rows = await rowsOf('stop_wait');
      expect(rows.map((r) => ({ status: r.status, lockedBy: r.lockedBy, lockedUntil: r.lockedUntil }))).toEqual(
        Array.from({ length: 4 }, () => ({ status: 'pending', lockedBy: null, lockedUntil: null })),
      );
      expect(target.server.requests.map((r) => r.url)).toEqual(['/w0']);

      // The held call now answers: the stopped worker does not record it (the row was handed back).
      target.switchOn();
      await new Promise((r) => setTimeout(r, 200));
      expect((await rowsOf('stop_wait')).every((r) => r.status === 'pending')).toBe(true);

      // Another worker takes every row at once (not after the 120 s lease) and each ends with one attempt.
      const next = app.deps.deliveries.startWorker(app.orm, app.deps, { pollMs: 100 });
      try {
        await until(async () => (await rowsOf('stop_wait')).every((r) => r.status === 'succeeded'), 10_000, 'the retries');
      } finally {
        await next.stop();
      }
      const done = await rowsOf('stop_wait');
      expect(done).toHaveLength(4);
      expect(done.map((r) => r.attempt)).toEqual([1, 1, 1, 1]);
      expect(target.server.requests.map((r) => r.url).sort()).toEqual(['/late', '/w0', '/w0', '/w1', '/w2']);
    });
  });

  describe(`a hung output target does not break the shutdown budget (${db})`, () => {
    const cleanup: (() => unknown)[] = [];
    afterAll(async () => {
      for (const fn of cleanup.reverse()) await fn();
    });

    it('SIGTERM with a call in flight: exit 0 within SHUTDOWN_TIMEOUT_MS, and a restart sends it at once', async () => {
      const SHUTDOWN_TIMEOUT_MS = 2_000;
      const database = await freshDatabase(db);
      cleanup.push(() => database.drop());
      const target = await switchableTarget();
      cleanup.push(() => target.server.close());
      const specs = await serveJson({
        '/output.json': { data: { descriptions: { app_name: 'Hung' }, integration_type: 'output', is_active: true, settings: [], target_url: `${target.server.url}/out` } },
      });
      cleanup.push(() => specs.close());
      const env = {
        DATABASE_URL: database.url,
        SWITCHBOARD_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'sb-data-')),
        SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
        OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8,::1',
        LOG_LEVEL: 'info',
        SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      };
      const first: GatewayProcess = await spawnGateway(env, await freePort());
      cleanup.push(() => first.kill());
      const a = remoteGateway(first.url);
      const org = await createOrg(a, 'Hung');
      const channel = await createChannel(a, org, 'hung');
      const integrationId = await addIntegration(a, org, `${specs.url}/output.json`);
      const enabled = await a.gqlRaw('mutation($i: ID!, $c: ID!) { enableIntegration(input: { integrationId: $i, channelId: $c }) { __typename } }', { i: integrationId, c: channel.id });
      expect(enabled.data).toMatchObject({ enableIntegration: { __typename: 'MutationEnableIntegrationSuccess' } });
      const posted = await fetch(`${first.url}/v1/webhooks/${channel.id}?message=held&event_name=e&status=success&username=u`);
      expect(posted.status).toBe(202);
      await until(() => target.server.requests.length === 1, 10_000, 'the output call');

      const signalledAt = Date.now();
      first.child.kill('SIGTERM');
      const exit = await first.exited;
      expect(exit.code, first.stdout()).toBe(0);
      expect(exit.at - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
      expect(first.stdout()).toMatch(/handed back for retry/);

      // The next process sends it at once (its lease would otherwise hold it for 120 s).
      target.switchOn();
      const second = await spawnGateway(env, await freePort());
      cleanup.push(() => second.kill());
      const b = remoteGateway(second.url);
      const statuses = async () => {
        const r = await b.gqlRaw('query($id: ID!) { channel(id: $id) { deliveries(kind: "output") { edges { node { status attempt } } } } }', { id: channel.id });
        return (r.data as { channel: { deliveries: { edges: { node: { status: string; attempt: number } }[] } } }).channel.deliveries.edges.map((e) => e.node);
      };
      await until(async () => (await statuses())[0]?.status === 'succeeded', 15_000, 'the handed-back delivery');
      expect(await statuses()).toEqual([{ status: 'succeeded', attempt: 1 }]);
      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
    }, 60_000);
  });
}
