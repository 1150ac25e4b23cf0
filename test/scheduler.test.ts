/**
 * The scheduler contract, held against every job store that can run here: the embedded store (the
 * gateway's own database through MikroORM) on SQLite and on PostgreSQL, the official Redis and
 * PostgreSQL backends, and MongoDB when MONGODB_URL reaches one. Fast schedules use 6-field crontab
 * text (seconds), the same code path as the 5-field crontab of real interval integrations.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/core';
import { initOrm } from '../src/db/orm.js';
import { createScheduler, type Scheduler, type SchedulerStore } from '../src/infra/scheduler.js';
import { freshDatabase, postgresAvailable, redisAvailable, REDIS_URL } from './support/services.js';
import { sleep } from './support/wait.js';

interface StoreCase {
  label: string;
  store: SchedulerStore;
  db: 'sqlite' | 'postgres';
  available: boolean;
}

const stores: StoreCase[] = [
  { label: 'embedded on SQLite', store: 'embedded', db: 'sqlite', available: true },
  { label: 'embedded on PostgreSQL', store: 'embedded', db: 'postgres', available: postgresAvailable },
  { label: 'official PostgreSQL backend', store: 'postgres', db: 'postgres', available: postgresAvailable },
  { label: 'official Redis backend', store: 'redis', db: 'sqlite', available: redisAvailable },
  { label: 'MongoDB backend (MONGODB_URL)', store: 'mongo', db: 'sqlite', available: !!process.env.MONGODB_URL },
];

const EVERY_SECOND = '* * * * * *';

for (const s of stores) {
  describe.skipIf(!s.available)(`scheduler contract: ${s.label}`, () => {
    let orm: MikroORM;
    let drop: () => Promise<void>;
    const namespace = `t${randomBytes(4).toString('hex')}`;
    const open: Scheduler[] = [];

    async function scheduler(name: string) {
      const sch = await createScheduler(
        {
          store: s.store,
          database: s.db === 'sqlite' ? { driver: 'sqlite', dbName: dbUrl } : { driver: 'postgresql', url: dbUrl },
          redisUrl: REDIS_URL,
          mongodbUrl: process.env.MONGODB_URL,
          processEveryMs: 200,
          name,
          namespace,
        },
        orm,
      );
      open.push(sch);
      return sch;
    }
    let dbUrl: string;

    beforeAll(async () => {
      const db = await freshDatabase(s.db);
      dbUrl = db.url;
      drop = db.drop;
      orm = await initOrm(s.db === 'sqlite' ? { driver: 'sqlite', dbName: db.url } : { driver: 'postgresql', url: db.url });
    });
    afterAll(async () => {
      for (const sch of open) await sch.stop();
      if (open[0]) {
        const cleanup = await scheduler('cleanup');
        await cleanup.agenda.cancel({ names: ['contract', 'shared', 'missed', 'unique'] });
        await cleanup.stop();
      }
      await orm?.close(true);
      await drop?.();
    });

    it('keeps one job per unique key, and finds, disables and removes it by its data', async () => {
      const sch = await scheduler('a');
      sch.agenda.define('unique', async () => {});
      const save = (interval: string) =>
        sch.agenda.create('unique', { integrationId: 'i1', channelId: 'c1', n: 1 }).unique({ 'data.integrationId': 'i1', 'data.channelId': 'c1' }).repeatEvery(interval, { skipImmediate: true }).save();
      await save('*/5 * * * *');
      await save('*/5 * * * *');
      await save('*/10 * * * *');
      await sch.agenda.create('unique', { integrationId: 'i1', channelId: 'c2' }).unique({ 'data.integrationId': 'i1', 'data.channelId': 'c2' }).repeatEvery('0 * * * *', { skipImmediate: true }).save();

      const { jobs } = await sch.agenda.queryJobs({ name: 'unique', data: { channelId: 'c1' } });
      expect(jobs).toHaveLength(1);
      expect(jobs[0].repeatInterval).toBe('*/10 * * * *');
      expect(jobs[0].nextRunAt!.getTime()).toBeGreaterThan(Date.now());
      expect(jobs[0].nextRunAt!.getUTCMinutes() % 10).toBe(0);
      expect((await sch.agenda.queryJobs({ name: 'unique', data: { integrationId: 'i1' } })).total).toBe(2);

      expect(await sch.agenda.disable({ name: 'unique', data: { channelId: 'c2' } })).toBe(1);
      expect((await sch.agenda.queryJobs({ name: 'unique', data: { channelId: 'c2' } })).jobs[0].disabled).toBe(true);
      expect(await sch.agenda.cancel({ name: 'unique', data: { integrationId: 'i1', channelId: 'c1' } })).toBe(1);
      expect((await sch.agenda.queryJobs({ name: 'unique' })).total).toBe(1);
      expect(await sch.agenda.cancel({ name: 'unique', data: { integrationId: 'i1' } })).toBe(1);
      expect((await sch.agenda.queryJobs({ name: 'unique' })).total).toBe(0);
    });

    it('runs a repeating cron job on each slot and records lastRunAt/nextRunAt', async () => {
      const sch = await scheduler('b');
      const runs: number[] = [];
      sch.agenda.define('contract', async () => void runs.push(Date.now()));
      await sch.start();
      await sch.agenda.create('contract', { k: 'x' }).unique({ 'data.k': 'x' }).repeatEvery(EVERY_SECOND, { skipImmediate: true }).save();
      await sleep(3_600);
      const [job] = (await sch.agenda.queryJobs({ name: 'contract' })).jobs;
      await sch.stop();
      expect(runs.length).toBeGreaterThanOrEqual(3);
      expect(runs.length).toBeLessThanOrEqual(4);
      // Each run is on its own second.
      expect(new Set(runs.map((t) => Math.floor(t / 1000))).size).toBe(runs.length);
      expect(job.lastRunAt).toBeInstanceOf(Date);
      expect(job.nextRunAt!.getTime()).toBeGreaterThan(job.lastRunAt!.getTime());
    });

    it('runs each slot exactly once across two instances on one store', async () => {
      const runs: { at: number; by: string }[] = [];
      const a = await scheduler('replica-a');
      const b = await scheduler('replica-b');
      for (const [sch, by] of [[a, 'a'], [b, 'b']] as const) sch.agenda.define('shared', async () => void runs.push({ at: Date.now(), by }));
      await Promise.all([a.start(), b.start()]);
      // Both replicas schedule the same unique job, one after the other.
      for (const sch of [a, b]) await sch.agenda.create('shared', { k: 'shared' }).unique({ 'data.k': 'shared' }).repeatEvery(EVERY_SECOND, { skipImmediate: true }).save();
      expect((await a.agenda.queryJobs({ name: 'shared' })).total).toBe(1);
      const start = Math.ceil(Date.now() / 1000) + 1;
      const slots = 8;
      await sleep((start + slots) * 1000 - Date.now() + 300);
      expect((await a.agenda.queryJobs({ name: 'shared' })).total).toBe(1);
      await Promise.all([a.stop(), b.stop()]);
      const perSlot = new Map<number, number>();
      for (const r of runs) perSlot.set(Math.floor(r.at / 1000), (perSlot.get(Math.floor(r.at / 1000)) ?? 0) + 1);
      for (let slot = start; slot < start + slots; slot++) expect(perSlot.get(slot) ?? 0, `slot ${slot}`).toBe(1);
    });

    it('runs a slot missed while every instance was down once, not once per missed slot', async () => {
      const first = await scheduler('before-restart');
      first.agenda.define('missed', async () => {});
      await first.start();
      await first.agenda.create('missed', { k: 'm' }).unique({ 'data.k': 'm' }).repeatEvery(EVERY_SECOND, { skipImmediate: true }).save();
      await first.stop();
      await sleep(3_500); // three or four slots pass with nobody running

      const runs: number[] = [];
      const second = await scheduler('after-restart');
      second.agenda.define('missed', async () => void runs.push(Date.now()));
      const restartedAt = Date.now();
      await second.start();
      await sleep(1_600);
      await second.stop();
      const elapsed = Date.now() - restartedAt;
      // One catch-up run, then one per slot boundary that passed since the restart.
      const boundaries = Math.floor((restartedAt + elapsed) / 1000) - Math.floor(restartedAt / 1000);
      expect(runs.length).toBeGreaterThanOrEqual(1);
      expect(runs.length).toBeLessThanOrEqual(boundaries + 1);
      expect(runs[0] - restartedAt).toBeLessThan(1_000);
    });
  });
}
