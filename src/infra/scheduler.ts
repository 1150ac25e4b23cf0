/**
 * Agenda with its store chosen by configuration. The job definitions and the rules that schedule them
 * are the same code whatever the store:
 * - MONGODB_URL (or AGENDA_BACKEND=mongo): @agendajs/mongo-backend, the production shape;
 * - AGENDA_BACKEND=postgres: @agendajs/postgres-backend on DATABASE_URL (its own table, LISTEN/NOTIFY);
 * - AGENDA_BACKEND=redis: @agendajs/redis-backend on REDIS_URL;
 * - otherwise the embedded store: the gateway's own database through MikroORM (agenda-sql-backend/).
 */
import type { MikroORM } from '@mikro-orm/core';
import { Agenda, type AgendaBackend, type JobRepository } from 'agenda';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { SqlBackend } from './agenda-sql-backend/index.js';

export type SchedulerStore = 'embedded' | 'mongo' | 'postgres' | 'redis';

export interface SchedulerOptions {
  store: SchedulerStore;
  database: Config['database'];
  redisUrl?: string;
  mongodbUrl?: string;
  processEveryMs: number;
  /** Shown in lastModifiedBy and Agendash: which replica touched a job. */
  name?: string;
  /** Key prefix / table / collection, so several gateways (or test runs) can share one server. */
  namespace?: string;
}

export interface Scheduler {
  readonly agenda: Agenda;
  readonly store: SchedulerStore;
  readonly backendName: string;
  /** Calls made to the store's repository since creation (each is one or a few round trips). */
  storeCalls(): number;
  /** SQL statements sent by the embedded store (null for the other stores). */
  storeStatements(): number | null;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export class SchedulerConfigError extends Error {}

export function schedulerOptions(config: Config, extra: Partial<SchedulerOptions> = {}): SchedulerOptions {
  return {
    store: config.agendaBackend,
    database: config.database,
    redisUrl: config.redisUrl,
    mongodbUrl: config.mongodbUrl,
    processEveryMs: config.agendaProcessEveryMs,
    namespace: config.agendaNamespace,
    ...extra,
  };
}

const POSTGRES_TABLE = 'agenda_backend_jobs';

async function createBackend(options: SchedulerOptions, orm: MikroORM): Promise<AgendaBackend> {
  const ns = options.namespace;
  switch (options.store) {
    case 'embedded':
      // The app's own ORM: on SQLite one connection serves both (a second connection in this process
      // would make the synchronous driver wait on a write lock our own event loop has to release).
      return new SqlBackend(orm, options.database.driver);
    case 'mongo': {
      if (!options.mongodbUrl) throw new SchedulerConfigError('AGENDA_BACKEND=mongo needs MONGODB_URL');
      const { MongoBackend } = await import('@agendajs/mongo-backend');
      return new MongoBackend({ address: options.mongodbUrl, collection: ns ? `agendaJobs_${ns}` : 'agendaJobs' });
    }
    case 'redis': {
      if (!options.redisUrl) throw new SchedulerConfigError('AGENDA_BACKEND=redis needs REDIS_URL');
      const { RedisBackend } = await import('@agendajs/redis-backend');
      return new RedisBackend({
        connectionString: options.redisUrl,
        keyPrefix: `switchboard:agenda:${ns ? `${ns}:` : ''}`,
        channelName: `switchboard:agenda:${ns ? `${ns}:` : ''}notifications`,
      });
    }
    case 'postgres': {
      if (options.database.driver !== 'postgresql') {
        throw new SchedulerConfigError('AGENDA_BACKEND=postgres needs DATABASE_URL to be a postgres:// URL');
      }
      const { PostgresBackend } = await import('@agendajs/postgres-backend');
      const tableName = ns ? `${POSTGRES_TABLE}_${ns}` : POSTGRES_TABLE;
      await ensurePostgresSchema(orm, tableName);
      // Replicas starting together race on the backend's own ensureSchema; the schema is made above, once.
      return new PostgresBackend({ connectionString: options.database.url, tableName, channelName: tableName, ensureSchema: false });
    }
  }
}

/** Create the official PostgreSQL backend's table under an advisory lock, so replicas never race on it. */
async function ensurePostgresSchema(orm: MikroORM, tableName: string) {
  const { getCreateTableSQL, getCreateIndexesSQL, getUpdateTimestampTriggerSQL } = await import('@agendajs/postgres-backend');
  const conn = orm.em.getConnection();
  await conn.transactional(async (trx) => {
    await conn.execute(`select pg_advisory_xact_lock(hashtext('switchboard:agenda-schema'))`, [], 'all', trx);
    const [found] = await conn.execute<{ t: string | null }[]>(`select to_regclass('public."${tableName}"')::text as t`, [], 'all', trx);
    if (found?.t) return;
    await conn.execute(getCreateTableSQL(tableName), [], 'all', trx);
    for (const sql of getCreateIndexesSQL(tableName)) await conn.execute(sql, [], 'all', trx);
    await conn.execute(getUpdateTimestampTriggerSQL(tableName), [], 'all', trx);
  });
}

/** A backend whose repository counts the calls made to it; everything else is the real backend. */
function counted(backend: AgendaBackend): { backend: AgendaBackend; calls: () => number } {
  let calls = 0;
  let connecting: Promise<void> | null = null;
  const repository = new Proxy(backend.repository, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as JobRepository;
  const wrapper: AgendaBackend = {
    name: backend.name,
    repository,
    notificationChannel: backend.notificationChannel,
    logger: backend.logger,
    ownsConnection: backend.ownsConnection,
    // Agenda connects from its constructor without handling a failure; createScheduler connects first
    // (so a bad URL is a clear startup error) and Agenda's own call reuses that connection.
    connect: () => (connecting ??= backend.connect()),
    disconnect: async () => {
      if (!connecting) return;
      connecting = null;
      await backend.disconnect();
    },
  };
  return { backend: wrapper, calls: () => calls };
}

export async function createScheduler(options: SchedulerOptions, orm: MikroORM, logger?: Logger): Promise<Scheduler> {
  const inner = await createBackend(options, orm);
  const { backend, calls } = counted(inner);
  try {
    await backend.connect();
  } catch (error) {
    await backend.disconnect().catch(() => {});
    throw new SchedulerConfigError(`the ${options.store} job store could not be reached: ${(error as Error).message}`);
  }
  const agenda = new Agenda({
    backend,
    name: options.name,
    processEvery: options.processEveryMs, // a number: Agenda reads '500 milliseconds' as 500 s
    defaultLockLifetime: 120_000,
    // Agenda's default of 20 jobs at once per process would queue a slot shared by many integrations.
    maxConcurrency: 500,
  });
  agenda.on('error', (error: Error) => logger?.error({ err: error }, 'scheduler error'));
  let started = false;
  let stopped = false;
  return {
    agenda,
    store: options.store,
    backendName: backend.name,
    storeCalls: calls,
    storeStatements: () => (inner instanceof SqlBackend ? inner.repository.queries : null),
    async start() {
      if (started) return;
      started = true;
      await agenda.start();
      logger?.info({ store: options.store, backend: backend.name, processEveryMs: options.processEveryMs }, 'scheduler started');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // stop() unlocks the jobs this replica holds, so another replica (or the next start) runs them.
      if (started) await agenda.stop();
      else await backend.disconnect();
      // Jobs the embedded store locked in a batch but never handed to Agenda are not in Agenda's list.
      if (inner instanceof SqlBackend) await inner.repository.releaseHeld();
    },
  };
}
