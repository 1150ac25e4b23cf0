import { AsyncResource } from 'node:async_hooks';
/**
 * Calls made while the event loop turns, gathered and run together: a group commit (every message that
 * arrived while the previous commit ran goes in the next one), or the reads and writes of the ticks of
 * one slot. `lanes` batches run at once, each of at most `maxBatch` items; with `isolate`, a batch that
 * fails is run again one item at a time, so one bad item fails alone.
 */
export class Batcher<I, O = void> {
  private queue: { input: I; resolve: (output: O) => void; reject: (error: unknown) => void }[] = [];
  private running = 0;
  private scheduled = false;
  /**
   * Starts the queued batches in the async context the batcher was made in, not in that of whichever caller
   * queued first: a batch serves many callers, so it carries none's request id in its log lines, and none's
   * database transaction (a batch run inside one would write in it).
   */
  private readonly wake = AsyncResource.bind(() => {
    this.scheduled = false;
    this.pump();
  });

  constructor(
    private readonly run: (inputs: I[]) => Promise<O[]>,
    private readonly options: { maxBatch: number; lanes: number; isolate?: boolean },
  ) {}

  add(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.scheduled && this.running < this.options.lanes) {
        this.scheduled = true;
        setImmediate(this.wake);
      }
    });
  }

  /** Start a batch in each free lane; each takes what is queued when it starts. */
  private pump() {
    while (this.queue.length && this.running < this.options.lanes) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.running++;
      void this.flush(batch).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async flush(batch: typeof this.queue) {
    try {
      const outputs = await this.run(batch.map((b) => b.input));
      batch.forEach((b, i) => b.resolve(outputs[i]));
    } catch (error) {
      if (!this.options.isolate || batch.length === 1) {
        for (const b of batch) b.reject(error);
        return;
      }
      for (const b of batch) {
        try {
          const [output] = await this.run([b.input]);
          b.resolve(output);
        } catch (e) {
          b.reject(e);
        }
      }
    }
  }
}
