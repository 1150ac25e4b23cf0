/**
 * Outbound calls made on threads of their own (OUTBOUND_THREADS, 1 by default; 0 makes them on the main thread).
 *
 * Why: building a call through got (its options, the agent's queue, the socket, reading and parsing the answer)
 * is most of the CPU a call costs. At a slot's ten thousand ticks the main thread, which also reads their targets
 * and records their attempts, could not put calls on the wire as fast as plain timers firing the same POSTs
 * (bench:ticks: about half the rate). A sender thread makes the calls while the main thread goes on with the rest.
 *
 * Each thread has its own guarded client, built from the same outbound settings (so the same SSRF guard, time
 * limit and MAX_SOCKETS_PER_HOST sockets per host). Calls are handed over and answered in batches, one message per
 * turn of the event loop. A thread that dies answers its calls in flight as failed (a delivery or a tick sends
 * such a call again, as after any failed attempt, under the same webhook-id), and the next call starts a new one.
 */
import { Worker } from 'node:worker_threads';
import type { Config } from '../../config.js';
import type { Logger } from 'pino';
import type { AttemptOutcome, SendInput } from './sender.js';
import type { Answer, Call } from './send-thread.js';

interface Thread {
  worker: Worker;
  pending: Map<number, (outcome: AttemptOutcome) => void>;
  queue: Call[];
}

/**
 * The thread's script: beside the bundle when running from it (scripts/build.mjs builds dist/send-thread.cjs next
 * to dist/main.cjs), else the source through tsx's loader.
 */
function threadScript(): URL {
  const here = import.meta.url;
  return here.endsWith('.cjs') ? new URL('./send-thread.cjs', here) : new URL('./send-thread.dev.mjs', here);
}

export class SendThreads {
  private readonly threads: (Thread | null)[];
  private next = 0;
  private ids = 0;
  private closed = false;

  constructor(
    private readonly outbound: Config['outbound'],
    count: number,
    private readonly logger: Logger,
  ) {
    this.threads = Array.from({ length: count }, () => null);
  }

  /**
   * Start the threads now rather than at the first call, which would otherwise wait for its thread to load (and
   * arrive late after the calls behind it, against a target's throttle). Not awaited: they load on their own core.
   */
  start() {
    for (let at = 0; at < this.threads.length; at++) this.threads[at] ??= this.spawn(at);
  }

  /** Make one call on a sender thread (started on first use); never throws, as sendOnce. */
  send(input: SendInput): Promise<AttemptOutcome> {
    if (this.closed) return Promise.resolve(failed('the gateway is stopping'));
    const at = this.next;
    this.next = (at + 1) % this.threads.length;
    const thread = (this.threads[at] ??= this.spawn(at));
    const id = ++this.ids;
    return new Promise((resolve) => {
      thread.pending.set(id, resolve);
      if (!thread.queue.length) setImmediate(() => this.handOver(thread));
      thread.queue.push([id, input]);
    });
  }

  private handOver(thread: Thread) {
    const calls = thread.queue;
    thread.queue = [];
    try {
      thread.worker.postMessage(calls);
    } catch {
      // A body that cannot be copied to another thread (not JSON data) fails its call alone, with its own reason.
      for (const call of calls) {
        try {
          thread.worker.postMessage([call]);
        } catch (error) {
          this.answer(thread, call[0], failed(`the call could not be handed to the sender thread: ${(error as Error).message}`));
        }
      }
    }
  }

  private spawn(at: number): Thread {
    const worker = new Worker(threadScript(), { workerData: { outbound: this.outbound }, name: `sender-${at}` });
    const thread: Thread = { worker, pending: new Map(), queue: [] };
    worker.on('message', (answers: Answer[]) => {
      for (const [id, outcome] of answers) this.answer(thread, id, outcome);
    });
    const gone = (why: string) => {
      if (this.threads[at] === thread) this.threads[at] = null;
      if (!thread.pending.size) return;
      // On stop the calls left are those the delivery worker already handed back: expected, not an error.
      this.logger[this.closed ? 'warn' : 'error']({ calls: thread.pending.size, why }, 'a sender thread stopped with calls in flight: they count as failed');
      for (const id of [...thread.pending.keys()]) this.answer(thread, id, failed(`the sender thread stopped (${why})`));
    };
    worker.on('error', (error) => gone(error.message));
    worker.on('exit', (code) => gone(this.closed ? 'the gateway is stopping' : `exit code ${code}`));
    // The app's stop() ends the threads; until then they must not keep a process alive by themselves.
    worker.unref();
    return thread;
  }

  private answer(thread: Thread, id: number, outcome: AttemptOutcome) {
    const resolve = thread.pending.get(id);
    if (!resolve) return;
    thread.pending.delete(id);
    resolve(outcome);
  }

  /** Stop the threads; calls still in flight are answered as failed (the app stops them after its own work ended). */
  async close() {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t?.worker.terminate()));
  }
}

const failed = (error: string): AttemptOutcome => ({ statusCode: null, latencyMs: 0, error, failure: 'unreachable', body: '', ok: false });
