/**
 * The batcher (src/infra/batcher.ts) behind the group commit and the tick attempts: calls gathered while the event
 * loop turns run together, and a batch runs in no caller's async context.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { Batcher } from '../src/infra/batcher.js';

describe('Batcher', () => {
  it('runs the calls of one turn together, in order, each answered with its own output', async () => {
    const batches: number[][] = [];
    const batcher = new Batcher<number, number>(async (inputs) => {
      batches.push(inputs);
      return inputs.map((i) => i * 10);
    }, { maxBatch: 3, lanes: 1 });
    expect(await Promise.all([1, 2, 3, 4, 5].map((i) => batcher.add(i)))).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('runs a batch outside the async context of the caller that queued first, and gives each caller its own back', async () => {
    const context = new AsyncLocalStorage<string>();
    const batcher = new Batcher<number, string | null>(async (inputs) => inputs.map(() => context.getStore() ?? null), { maxBatch: 10, lanes: 1 });
    const answers = await Promise.all(
      ['first', 'second'].map((name, i) =>
        context.run(name, async () => {
          const seenByBatch = await batcher.add(i);
          return { seenByBatch, after: context.getStore() };
        }),
      ),
    );
    expect(answers).toEqual([
      { seenByBatch: null, after: 'first' },
      { seenByBatch: null, after: 'second' },
    ]);
  });

  it('with isolate, runs a failed batch again one by one, so only the bad call fails', async () => {
    const batcher = new Batcher<number, number>(async (inputs) => {
      if (inputs.includes(2)) throw new Error('bad 2');
      return inputs;
    }, { maxBatch: 10, lanes: 1, isolate: true });
    const settled = await Promise.allSettled([1, 2, 3].map((i) => batcher.add(i)));
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([1, 'bad 2', 3]);
  });
});
