import { MikroORM, type Options } from '@mikro-orm/core';
import { LibSqlDriver } from '@mikro-orm/libsql';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DatabaseConfig } from '../config.js';
import { entities } from './entities.js';
import { sqliteMigrations } from './migrations/sqlite/index.js';
import { postgresqlMigrations } from './migrations/postgresql/index.js';

export type Orm = MikroORM;
export type { EntityManager } from '@mikro-orm/core';

export const migrationsDir = (driver: DatabaseConfig['driver']) =>
  path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations', driver);

/** ORM options for a database: shared by the app, the migration script and the tests. */
export function ormOptions(db: DatabaseConfig): Options {
  const common: Options = {
    entities,
    extensions: [Migrator],
    allowGlobalContext: false,
    forceUtcTimezone: true,
    debug: false,
    discovery: { warnWhenNoEntities: false },
  };
  if (db.driver === 'postgresql') {
    return {
      ...common,
      driver: PostgreSqlDriver,
      clientUrl: db.url,
      pool: { min: 0, max: 10 },
      migrations: { migrationsList: postgresqlMigrations, path: migrationsDir('postgresql'), snapshot: false, emit: 'ts', silent: true },
    } as Options;
  }
  if (db.dbName !== ':memory:') mkdirSync(path.dirname(db.dbName), { recursive: true });
  return {
    ...common,
    driver: LibSqlDriver,
    dbName: db.dbName,
    migrations: { migrationsList: sqliteMigrations, path: migrationsDir('sqlite'), snapshot: false, emit: 'ts', silent: true },
  } as Options;
}

/** Connect and bring the schema up to date. */
export async function initOrm(db: DatabaseConfig): Promise<MikroORM> {
  const orm = await MikroORM.init(ormOptions(db));
  if (db.driver === 'sqlite') {
    // WAL lets readers proceed while a write commits; foreign keys make cascades real.
    const conn = orm.em.getConnection();
    if (db.dbName !== ':memory:') await conn.execute('pragma journal_mode = wal');
    await conn.execute('pragma foreign_keys = on');
    await conn.execute('pragma busy_timeout = 5000');
  }
  await orm.getMigrator().up();
  return orm;
}
