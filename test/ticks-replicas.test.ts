/**
 * Two gateway processes on one job store: an interval integration on a one-second schedule is ticked
 * exactly once per slot over 20 slots, counted by the integration's own HTTP server. Run on every store
 * that can run here (the embedded store on one SQLite file and on PostgreSQL, the official Redis and
 * PostgreSQL backends); a second case stops both processes, lets slots pass, and checks that one
 * restarted process runs the missed tick once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_STORES, startReplicas, type Replicas } from './support/replicas.js';
import { sleep } from './support/wait.js';

const SLOTS = 20;

for (const store of JOB_STORES) {
  describe.skipIf(!store.available)(`ticks across two gateway processes: ${store.label}`, () => {
    let replicas: Replicas;

    beforeAll(async () => {
      replicas = await startReplicas(store, { cron: '* * * * * *' });
    }, 60_000);

    afterAll(async () => {
      await replicas?.close();
    });

    it(`ticks once per slot over ${SLOTS} slots, then a slot missed while both were down runs once`, async () => {
      // One after the other: the first one migrates the fresh database.
      const a = await replicas.start();
      await replicas.start();
      await replicas.seed(a);
      const at = () => replicas.ticks.map((x) => x.at);

      const first = Math.ceil(Date.now() / 1000) + 1;
      await sleep((first + SLOTS) * 1000 - Date.now() + 400);
      const perSlot = new Map<number, number>();
      for (const t of at()) perSlot.set(Math.floor(t / 1000), (perSlot.get(Math.floor(t / 1000)) ?? 0) + 1);
      const counts = Array.from({ length: SLOTS }, (_, i) => perSlot.get(first + i) ?? 0);
      const offsets = at().map((t) => t - first * 1000);
      expect(counts, `ticks at ms after the first slot: ${offsets.join(', ')}`).toEqual(Array(SLOTS).fill(1));

      await replicas.stopAll();
      const stoppedAt = Date.now();
      const before = at().length;
      await sleep(3_200); // three slots pass with no gateway running
      expect(at().length).toBe(before);
      const restartAt = Date.now();
      await replicas.start();
      await sleep(2_500);
      const end = Date.now();
      // One catch-up tick (not one per missed slot), then one per slot boundary since the restart.
      const resumed = at().slice(before);
      const boundaries = Math.floor(end / 1000) - Math.floor(restartAt / 1000);
      expect(resumed.length).toBeGreaterThanOrEqual(2);
      expect(resumed.length).toBeLessThanOrEqual(boundaries + 1);
      expect(new Set(resumed.map((t) => Math.floor(t / 1000))).size).toBeGreaterThanOrEqual(resumed.length - 1);
      expect(stoppedAt).toBeLessThan(restartAt);
    }, 90_000);
  });
}
