import type { Logger } from 'pino';

export interface WaitOptions {
  /** Give up after this long (ms) and rethrow the last error. */
  timeoutMs: number;
  /** First delay between attempts (ms), doubled each time up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Connect to a dependency that may not be up yet (a database or Redis starting beside the gateway in
 * docker-compose): retry with exponential backoff, log each failed attempt in plain words, and give up
 * with the last error only after `timeoutMs`.
 */
export async function waitForDependency<T>(name: string, connect: () => Promise<T>, logger: Logger, options: WaitOptions): Promise<T> {
  const started = Date.now();
  let delay = options.initialDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 5_000;
  for (let attempt = 1; ; attempt++) {
    try {
      const value = await connect();
      if (attempt > 1) logger.info({ dependency: name, attempt, waitedMs: Date.now() - started }, `${name} is reachable`);
      return value;
    } catch (error) {
      const waited = Date.now() - started;
      const reason = error instanceof Error ? error.message : String(error);
      if (waited + delay > options.timeoutMs) {
        logger.error({ dependency: name, attempt, waitedMs: waited, reason }, `${name} is still unreachable after ${Math.round(waited / 1000)} s: giving up`);
        throw error;
      }
      logger.warn({ dependency: name, attempt, retryInMs: delay, reason }, `waiting for ${name}: ${reason}`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, maxDelay);
    }
  }
}
