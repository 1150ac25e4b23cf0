/**
 * A replica killed mid-slot: two gateway processes on one job store, interval integrations on a 20-second
 * crontab. The integration answers 500 to every tick until the replica that claimed the slot is killed
 * (SIGKILL, between its first attempts and their retries), and 202 after. The other replica must take
 * the slot over and finish it: every (pair, slot) idempotency key (`webhook-id`, which holds the slot)
 * accepted exactly once, inside its slot; then the next slot runs on the survivor, again once per key.
 * The checks count sends per key; timings only bound the waits.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MikroORM } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway, type GatewayProcess } from '../bench/spawn.js';
import { initOrm } from '../src/db/orm.js';
import { keySlot } from '../src/modules/ticks/tick-slots.js';
import { graphql } from './gql/index.js';
import { ADMIN_TOKEN, remoteGateway } from './support/app.js';
import { json, startServer, type LocalServer } from './support/http-server.js';
import { addIntegration, createChannel, createOrg } from './support/seed.js';
import { freshDatabase, postgresAvailable, redisAvailable, REDIS_URL } from './support/services.js';
import { sleep, until } from './support/wait.js';

const Enable = graphql(`
  mutation FailoverEnable($integrationId: ID!, $channelId: ID!) {
    enableIntegration(input: { integrationId: $integrationId, channelId: $channelId }) { __typename ... on Error { message } }
  }
`);

const cases: { label: string; db: 'sqlite' | 'postgres'; env: Record<string, string>; available: boolean }[] = [
  { label: 'embedded store on one SQLite file', db: 'sqlite', env: {}, available: true },
  { label: 'embedded store on PostgreSQL', db: 'postgres', env: {}, available: postgresAvailable },
  { label: 'official Redis backend', db: 'sqlite', env: { AGENDA_BACKEND: 'redis', REDIS_URL }, available: redisAvailable },
];

const PAIRS = 8;
const SLOT_MS = 20_000;
const CRON = '*/20 * * * * *';

interface Tick {
  key: string;
  at: number;
  status: number;
}

for (const c of cases) {
  describe.skipIf(!c.available)(`a replica killed mid-slot: ${c.label}`, () => {
    let database: Awaited<ReturnType<typeof freshDatabase>>;
    let server: LocalServer;
    let orm: MikroORM | undefined;
    const ticks: Tick[] = [];
    let killedAt: number | null = null;
    const running: GatewayProcess[] = [];

    beforeAll(async () => {
      server = await startServer((req, res) => {
        const p = req.url.split('?')[0];
        if (p === '/spec') {
          return json(res, 200, {
            data: {
              descriptions: { app_name: 'Clock', app_description: 'Counts ticks' },
              integration_type: 'interval',
              settings: [{ label: 'interval', type: 'text', required: true, default: CRON }],
              tick_url: `${server.url}/tick`,
            },
          });
        }
        if (p === '/tick') {
          // Every attempt fails until the claiming replica is dead: only the survivor's attempts can succeed.
          const status = killedAt === null ? 500 : 202;
          ticks.push({ key: String(req.headers['webhook-id']), at: Date.now(), status });
          json(res, status, {});
          return;
        }
        json(res, 404, {});
      });
      database = await freshDatabase(c.db);
    }, 60_000);

    afterAll(async () => {
      await Promise.all(running.map((g) => g.stop()));
      await orm?.close(true);
      await server?.close();
      await database?.drop();
    });

    it('the other replica finishes the slot: every key accepted once, inside its slot; nothing skipped', async () => {
      const env = {
        DATABASE_URL: database.url,
        SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
        SWITCHBOARD_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'sb-failover-')),
        OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8',
        AGENDA_PROCESS_EVERY_MS: '250',
        AGENDA_NAMESPACE: `t${randomBytes(4).toString('hex')}`,
        TICK_LEASE_MS: '1500',
        ...c.env,
      };
      // One after the other: the first one migrates the fresh database.
      const a = await spawnGateway(env);
      running.push(a);
      const b = await spawnGateway(env);
      running.push(b);
      orm = await initOrm(c.db === 'sqlite' ? { driver: 'sqlite', dbName: database.url } : { driver: 'postgresql', url: database.url });

      const t = remoteGateway(a.url);
      const org = await createOrg(t, 'Failover');
      const channel = await createChannel(t, org, 'clock');
      for (let i = 0; i < PAIRS; i++) {
        const integrationId = await addIntegration(t, org, `${server.url}/spec`);
        expect((await t.gql(Enable, { integrationId, channelId: channel.id })).enableIntegration.__typename).toBe('MutationEnableIntegrationSuccess');
      }

      // The first slot's first attempts all arrive (and fail): kill the replica that claimed the slot.
      const keysOf = (slot: number) => new Set(ticks.filter((x) => keySlot(x.key) === slot).map((x) => x.key));
      const firstSlot = await until(
        () => {
          const slots = [...new Set(ticks.map((x) => keySlot(x.key)))];
          return slots.find((s) => keysOf(s).size === PAIRS);
        },
        SLOT_MS * 2 + 10_000,
        `${PAIRS} first attempts of one slot`,
      );
      const [row] = (await orm.em.getConnection().execute(`select distinct claimed_by from tick_pairs where slot_at = ?`, [firstSlot])) as { claimed_by: string }[];
      const pid = Number(row.claimed_by.split(':')[0]);
      const victim = running.find((g) => g.child.pid === pid)!;
      expect(victim, `the claiming replica (${row.claimed_by}) is one of ours`).toBeDefined();
      victim.child.kill('SIGKILL');
      killedAt = Date.now();
      const survivor = running.find((g) => g !== victim)!;
      running.splice(running.indexOf(victim), 1);
      expect(killedAt - firstSlot, 'killed inside the slot').toBeLessThan(SLOT_MS);

      const accepted = (slot: number) => ticks.filter((x) => x.status === 202 && keySlot(x.key) === slot);
      // The survivor takes the slot over once the dead replica's lease has run out, then runs the next slot.
      await until(() => accepted(firstSlot).length >= PAIRS, SLOT_MS + 10_000, 'the killed slot finished');
      await until(() => accepted(firstSlot + SLOT_MS).length >= PAIRS, SLOT_MS * 2 + 10_000, 'the next slot');
      await sleep(1_500);

      for (const slot of [firstSlot, firstSlot + SLOT_MS]) {
        const perKey = new Map<string, number>();
        for (const x of accepted(slot)) perKey.set(x.key, (perKey.get(x.key) ?? 0) + 1);
        expect(perKey.size, `keys accepted in slot ${new Date(slot).toISOString()}`).toBe(PAIRS);
        expect([...perKey.values()], 'each key accepted once').toEqual(Array(PAIRS).fill(1));
        // Inside the slot: before the next one began.
        expect(Math.max(...accepted(slot).map((x) => x.at))).toBeLessThan(slot + SLOT_MS);
      }
      // The killed slot's keys are the ones its first attempts carried: the survivor went on with them.
      expect(new Set(accepted(firstSlot).map((x) => x.key))).toEqual(keysOf(firstSlot));
      expect(accepted(firstSlot).every((x) => x.at >= killedAt!)).toBe(true);
      // No key of any slot was ever accepted twice.
      const all = new Map<string, number>();
      for (const x of ticks) if (x.status === 202) all.set(x.key, (all.get(x.key) ?? 0) + 1);
      expect([...all.values()].every((n) => n === 1)).toBe(true);
      expect(survivor.child.exitCode).toBeNull();
    }, 180_000);
  });
}
