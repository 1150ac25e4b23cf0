/**
 * A replica killed mid-slot: two gateway processes on one job store, interval integrations on a 20-second
 * crontab. The integration answers 500 to every tick until the replica that claimed the slot is killed
 * (SIGKILL, between its first attempts and their retries), and 202 after. The other replica must take
 * the slot over and finish it: every (pair, slot) idempotency key (`webhook-id`, which holds the slot)
 * accepted exactly once, inside its slot; then the next slot runs on the survivor, again once per key.
 * The checks count sends per key; timings only bound the waits.
 */
import type { MikroORM } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initOrm } from '../src/db/orm.js';
import { keySlot } from '../src/modules/ticks/tick-slots.js';
import { JOB_STORES, startReplicas, type Replicas } from './support/replicas.js';
import { sleep, until } from './support/wait.js';

const PAIRS = 8;
const SLOT_MS = 20_000;
const CRON = '*/20 * * * * *';

// Agenda's PostgreSQL backend is left out here, as it always was: the embedded store on PostgreSQL covers that database.
for (const store of JOB_STORES.filter((s) => s.env.AGENDA_BACKEND !== 'postgres')) {
  describe.skipIf(!store.available)(`a replica killed mid-slot: ${store.label}`, () => {
    let replicas: Replicas;
    let orm: MikroORM | undefined;
    let killedAt: number | null = null;

    beforeAll(async () => {
      // Every attempt fails until the claiming replica is dead: only the survivor's attempts can succeed.
      replicas = await startReplicas(store, { cron: CRON, answer: () => (killedAt === null ? 500 : 202), env: { TICK_LEASE_MS: '1500' } });
    }, 60_000);

    afterAll(async () => {
      await orm?.close(true);
      await replicas?.close();
    });

    it('the other replica finishes the slot: every key accepted once, inside its slot; nothing skipped', async () => {
      // One after the other: the first one migrates the fresh database.
      const a = await replicas.start();
      await replicas.start();
      orm = await initOrm(store.db === 'sqlite' ? { driver: 'sqlite', dbName: replicas.databaseUrl } : { driver: 'postgresql', url: replicas.databaseUrl });
      await replicas.seed(a, PAIRS);
      const ticks = replicas.ticks;

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
      const victim = replicas.running.find((g) => g.child.pid === pid)!;
      expect(victim, `the claiming replica (${row.claimed_by}) is one of ours`).toBeDefined();
      replicas.kill(victim);
      killedAt = Date.now();
      const survivor = replicas.running[0];
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
