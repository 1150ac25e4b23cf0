import { MikroORM, type Options } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DatabaseConfig } from '../config.js';
import type { ReadinessCheck } from '../infra/readiness.js';
import { entities } from './entities.js';
import { sqliteMigrations } from './migrations/sqlite/index.js';
import { postgresqlMigrations } from './migrations/postgresql/index.js';

export type Orm = MikroORM;
export type { EntityManager } from '@mikro-orm/core';

export const migrationsDir = (driver: DatabaseConfig['driver']) =>
  path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations', driver);

/**
 * ORM options for a database: shared by the app, the migration script and the tests. Only the driver of the
 * configured database is loaded (each pulls in its own client and dialect): start-up pays for one.
 */
export async function ormOptions(db: DatabaseConfig): Promise<Options> {
  const common: Options = {
    entities,
    extensions: [Migrator],
    allowGlobalContext: false,
    forceUtcTimezone: true,
    debug: false,
    discovery: { warnWhenNoEntities: false },
  };
  if (db.driver === 'postgresql') {
    const { PostgreSqlDriver } = await import('@mikro-orm/postgresql');
    return {
      ...common,
      driver: PostgreSqlDriver,
      clientUrl: db.url,
      pool: { min: 0, max: 10 },
      migrations: { migrationsList: postgresqlMigrations, path: migrationsDir('postgresql'), snapshot: false, emit: 'ts', silent: true },
    } as Options;
  }
  if (db.dbName !== ':memory:') mkdirSync(path.dirname(db.dbName), { recursive: true });
  const { LibSqlDriver } = await import('@mikro-orm/libsql');
  return {
    ...common,
    driver: LibSqlDriver,
    dbName: db.dbName,
    // The pool replaces idle connections, and pragmas belong to a connection: set them on every new one,
    // or cascades silently stop and a second process's write lock fails at once instead of waiting.
    pool: { afterCreate: configureSqliteConnection },
    migrations: { migrationsList: sqliteMigrations, path: migrationsDir('sqlite'), snapshot: false, emit: 'ts', silent: true },
  } as Options;
}

interface SqliteConnection {
  exec(sql: string): unknown;
  prepare(sql: string): unknown;
  /** When MikroORM's libsql dialect opened it (epoch ms); its pool drops connections older than 10 s. */
  __created?: number;
}

/** Prepared statements each SQLite connection keeps, by SQL text (least recently used dropped first). */
const KEPT_STATEMENTS = 256;

/**
 * knex's SQLite dialect prepares every statement it runs afresh: for the group commit's multi-row INSERT that is
 * parsing hundreds of placeholders again on every batch (a twentieth of the ingest path's time). A connection keeps
 * its statements instead; the same text is the same statement, run with new values. A statement is run to its end
 * before the next one starts (the driver is synchronous), so reusing one is safe, and SQLite prepares it again by
 * itself if the schema changed since.
 */
function keepPreparedStatements(connection: SqliteConnection) {
  const prepare = connection.prepare.bind(connection);
  const kept = new Map<string, unknown>();
  connection.prepare = (sql) => {
    let statement = kept.get(sql);
    if (statement) kept.delete(sql);
    else statement = prepare(sql);
    kept.set(sql, statement);
    if (kept.size > KEPT_STATEMENTS) kept.delete(kept.keys().next().value!);
    return statement;
  };
}

/**
 * Per-connection SQLite settings: foreign keys make cascades real; busy_timeout makes a write wait for
 * another process's lock; synchronous=normal is WAL's recommended durability (a commit survives a
 * process crash; only an OS crash can lose the last ones) and several times faster than full.
 */
function configureSqliteConnection(connection: SqliteConnection, done: (error: Error | null, connection: unknown) => void) {
  try {
    connection.exec('pragma foreign_keys = on');
    connection.exec('pragma busy_timeout = 5000');
    connection.exec('pragma synchronous = normal');
    keepPreparedStatements(connection);
    // MikroORM's libsql dialect replaces a connection once it is 10 s old (remote libsql servers expire theirs).
    // A local file's connection does not expire, and each replacement cost the next statement the file's opening,
    // the pragmas and every prepared statement: 20-40 ms for the first message after a pause. It is kept.
    connection.__created = Number.MAX_SAFE_INTEGER;
    done(null, connection);
  } catch (error) {
    done(error as Error, connection);
  }
}

/** Connect and bring the schema up to date. */
export async function initOrm(db: DatabaseConfig): Promise<MikroORM> {
  const orm = await MikroORM.init(await ormOptions(db));
  // WAL (a property of the database file) lets readers proceed while a write commits.
  if (db.driver === 'sqlite' && db.dbName !== ':memory:') await orm.em.getConnection().execute('pragma journal_mode = wal');
  await orm.getMigrator().up();
  return orm;
}

/** The database answers a query and every migration shipped with this build has been applied. */
export function databaseCheck(orm: Orm): ReadinessCheck {
  return async () => {
    await orm.em.getConnection().execute('select 1');
    const pending = await orm.getMigrator().getPendingMigrations();
    if (pending.length) throw new Error(`${pending.length} migration(s) not applied: ${pending.map((m) => m.name).join(', ')}`);
    return 'reachable, migrations applied';
  };
}
