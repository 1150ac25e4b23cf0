import { newRedis } from './redis.js';

/**
 * Readiness: what this replica needs to serve traffic. Each dependency registers a named check (the
 * database with db/orm.ts's databaseCheck; Redis pubsub and the job store where they are built); GET /readyz
 * runs them all and names the ones that fail. Once shutdown begins every probe answers "shutting down", so a balancer
 * stops routing here before the listener closes.
 */
export type ReadinessCheck = () => Promise<string | void>;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { status: 'up' | 'down'; detail?: string; error?: string }>;
}

export class Readiness {
  private checks = new Map<string, ReadinessCheck>();
  private draining = false;

  constructor(private timeoutMs = 2_000) {}

  /** Add (or replace) a named check; it throws or rejects when the dependency is down. */
  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** Called first thing on shutdown. */
  drain(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  async report(): Promise<ReadinessReport> {
    const checks: ReadinessReport['checks'] = {};
    if (this.draining) checks.shutdown = { status: 'down', error: 'shutting down' };
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          const detail = await Promise.race([
            check(),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
            }),
          ]);
          checks[name] = detail ? { status: 'up', detail } : { status: 'up' };
        } catch (error) {
          checks[name] = { status: 'down', error: error instanceof Error ? error.message : String(error) };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return { ready: Object.values(checks).every((c) => c.status === 'up'), checks };
  }
}

/**
 * Redis answers PING, on a short-lived connection of its own (no retries, so a probe fails fast instead of
 * queueing behind ioredis' reconnect loop). Also used at start to wait for Redis before pubsub connects.
 */
export function redisCheck(url: string, timeoutMs = 2_000): ReadinessCheck {
  return async () => {
    const client = await newRedis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: timeoutMs });
    // The socket error (ECONNREFUSED, ENOTFOUND ...) says more than the "Connection is closed." it causes.
    let cause: Error | undefined;
    client.on('error', (error: Error) => (cause ??= error));
    try {
      await client.connect();
      const answer = await client.ping();
      if (answer !== 'PONG') throw new Error(`unexpected PING answer ${answer}`);
      return 'reachable';
    } catch (error) {
      throw cause ?? error;
    } finally {
      client.disconnect();
    }
  };
}
