/**
 * Two gateway processes on one job store: an interval integration on a one-second schedule is ticked
 * exactly once per slot over 20 slots, counted by the integration's own HTTP server. Run on every store
 * that can run here (the embedded store on one SQLite file and on PostgreSQL, the official Redis and
 * PostgreSQL backends); a second case stops both processes, lets slots pass, and checks that one
 * restarted process runs the missed tick once.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway, type GatewayProcess } from '../bench/spawn.js';
import { graphql } from './gql/index.js';
import { ADMIN_TOKEN, remoteGateway } from './support/app.js';
import { json, startServer, type LocalServer } from './support/http-server.js';
import { addIntegration, createChannel, createOrg } from './support/seed.js';
import { freshDatabase, postgresAvailable, redisAvailable, REDIS_URL } from './support/services.js';
import { sleep } from './support/wait.js';

const Enable = graphql(`
  mutation ReplicaEnable($integrationId: ID!, $channelId: ID!) {
    enableIntegration(input: { integrationId: $integrationId, channelId: $channelId }) { __typename ... on Error { message } }
  }
`);

const cases: { label: string; db: 'sqlite' | 'postgres'; env: Record<string, string>; available: boolean }[] = [
  { label: 'embedded store on one SQLite file', db: 'sqlite', env: {}, available: true },
  { label: 'embedded store on PostgreSQL', db: 'postgres', env: {}, available: postgresAvailable },
  { label: 'official Redis backend', db: 'sqlite', env: { AGENDA_BACKEND: 'redis', REDIS_URL }, available: redisAvailable },
  { label: 'official PostgreSQL backend', db: 'postgres', env: { AGENDA_BACKEND: 'postgres' }, available: postgresAvailable },
];

const SLOTS = 20;


for (const c of cases) {
  describe.skipIf(!c.available)(`ticks across two gateway processes: ${c.label}`, () => {
    let database: Awaited<ReturnType<typeof freshDatabase>>;
    let server: LocalServer;
    const ticks: number[] = [];
    let env: Record<string, string>;
    const running: GatewayProcess[] = [];

    beforeAll(async () => {
      server = await startServer((req, res) => {
        const p = req.url.split('?')[0];
        if (p === '/spec') {
          return json(res, 200, {
            data: {
              descriptions: { app_name: 'Clock', app_description: 'Counts ticks' },
              integration_type: 'interval',
              settings: [{ label: 'interval', type: 'text', required: true, default: '* * * * * *' }],
              tick_url: `${server.url}/tick`,
            },
          });
        }
        if (p === '/tick') {
          ticks.push(Date.now());
          return json(res, 202, {});
        }
        json(res, 404, {});
      });
      database = await freshDatabase(c.db);
      env = {
        DATABASE_URL: database.url,
        SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
        SWITCHBOARD_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'sb-replica-')),
        OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8',
        AGENDA_PROCESS_EVERY_MS: '250',
        AGENDA_NAMESPACE: `t${randomBytes(4).toString('hex')}`,
        ...c.env,
      };
    }, 60_000);

    afterAll(async () => {
      await Promise.all(running.map((g) => g.stop()));
      await server?.close();
      await database?.drop();
    });

    async function start() {
      const g = await spawnGateway(env);
      running.push(g);
      return g;
    }
    async function stopAll() {
      await Promise.all(running.splice(0).map((g) => g.stop()));
    }

    it(`ticks once per slot over ${SLOTS} slots, then a slot missed while both were down runs once`, async () => {
      // One after the other: the first one migrates the fresh database.
      const a = await start();
      await start();
      const t = remoteGateway(a.url);
      const org = await createOrg(t, 'Replicas');
      const channel = await createChannel(t, org, 'clock');
      const integrationId = await addIntegration(t, org, `${server.url}/spec`);
      await t.gql(Enable, { integrationId, channelId: channel.id });

      const first = Math.ceil(Date.now() / 1000) + 1;
      await sleep((first + SLOTS) * 1000 - Date.now() + 400);
      const perSlot = new Map<number, number>();
      for (const at of ticks) perSlot.set(Math.floor(at / 1000), (perSlot.get(Math.floor(at / 1000)) ?? 0) + 1);
      const counts = Array.from({ length: SLOTS }, (_, i) => perSlot.get(first + i) ?? 0);
      const offsets = ticks.map((at) => at - first * 1000);
      expect(counts, `ticks at ms after the first slot: ${offsets.join(', ')}`).toEqual(Array(SLOTS).fill(1));

      await stopAll();
      const stoppedAt = Date.now();
      const before = ticks.length;
      await sleep(3_200); // three slots pass with no gateway running
      expect(ticks.length).toBe(before);
      const restartAt = Date.now();
      await start();
      await sleep(2_500);
      const end = Date.now();
      // One catch-up tick (not one per missed slot), then one per slot boundary since the restart.
      const resumed = ticks.slice(before);
      const boundaries = Math.floor(end / 1000) - Math.floor(restartAt / 1000);
      expect(resumed.length).toBeGreaterThanOrEqual(2);
      expect(resumed.length).toBeLessThanOrEqual(boundaries + 1);
      expect(new Set(resumed.map((at) => Math.floor(at / 1000))).size).toBeGreaterThanOrEqual(resumed.length - 1);
      expect(stoppedAt).toBeLessThan(restartAt);
    }, 90_000);
  });
}
