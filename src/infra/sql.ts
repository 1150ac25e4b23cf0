/**
 * Raw SQL on the hot paths (a batch of messages, a slot's tick rows), with its values bound.
 *
 * MikroORM's `Connection.execute` writes every value into the SQL text (`formatQuery`) before the driver sees it.
 * A 500-row INSERT then becomes a statement of hundreds of KB that is quoted value by value, scanned again by the
 * driver, and parsed afresh by the database on every call. Bound, the text depends on the row count only, and the
 * values go to the driver as they are, on the connection itself: knex's query runner around each statement cost
 * more than the driver's own work on the hot paths.
 *
 * Values are passed as the drivers take them: strings, numbers, null and Dates (written on SQLite as epoch
 * milliseconds, as the ORM writes them). JSON columns are given as text (JSON.stringify): the PostgreSQL driver would
 * write a JS array as an array literal. `?` is the placeholder, and only that: no `?` may appear in the text otherwise
 * (no `??`, no jsonb `?` operator).
 */
import type { EntityManager } from '@mikro-orm/core';

type Connection = ReturnType<EntityManager['getConnection']> & { getKnex(): { client: KnexClient } };

/** A JSON column's value as text (null stays null). */
export const jsonText = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

/**
 * A JSON column's value as a raw statement reads it back: SQLite answers the text, PostgreSQL's driver has
 * already decoded it. A string value is then a JSON text on SQLite but the string itself on PostgreSQL, so
 * "is it a string?" cannot tell the two apart: the platform does.
 */
export function jsonValue(em: EntityManager, v: unknown): unknown {
  return typeof v === 'string' && !em.getPlatform().convertsJsonAutomatically() ? JSON.parse(v) : v;
}

/** A datetime column as a raw statement reads it back: epoch milliseconds on SQLite, its text on PostgreSQL. */
export const dateValue = (v: unknown): Date | null =>
  v == null ? null : v instanceof Date ? v : new Date(typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : (v as string | number));

/** A boolean column as a raw statement reads it back: 0/1 on SQLite, a boolean on PostgreSQL. */
export const boolValue = (v: unknown) => v === true || v === 1 || v === '1' || v === 't';

/** The placeholders of an `in (...)` list of `n` values: `?, ?, ?`. */
export const placeholders = (n: number) => Array(n).fill('?').join(', ');

/**
 * Rows of a statement that answers rows (select, or `returning`), in `em`'s transaction when it is in one.
 * `name`: PostgreSQL prepares the statement under it once per connection and then sends only its values; for
 * a hot statement whose text never changes (a name must never stand for two texts). SQLite statements are
 * prepared once per connection whatever their name.
 */
export function sqlRows<T = Record<string, unknown>>(em: EntityManager, text: string, params: readonly unknown[] = [], name?: string): Promise<T[]> {
  return run<T[]>(em, text, params, 'all', name);
}

/** A statement run for its effect; answers how many rows it changed. */
export async function sqlRun(em: EntityManager, text: string, params: readonly unknown[] = []): Promise<number> {
  return Number((await run<{ affectedRows?: number }>(em, text, params, 'run')).affectedRows ?? 0);
}

/** What of a SQLite connection (libsql's, better-sqlite3's API) statements and transactions are run with. */
interface SqliteDatabase {
  prepare(sql: string): { all(params: unknown[]): unknown[]; run(params: unknown[]): { changes: number } };
  exec(sql: string): void;
  readonly inTransaction: boolean;
}
interface KnexClient {
  dialect: string;
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): unknown;
}

/** A value as SQLite takes it, as knex's SQLite dialects bind it: Dates as epoch milliseconds, booleans as 0/1, undefined as NULL. */
const sqliteValue = (v: unknown) => (v instanceof Date ? v.valueOf() : typeof v === 'boolean' ? Number(v) : v === undefined ? null : v);

/** The database's errors as the ORM's own statements raise them (a unique key, a foreign key ...), so callers can tell them apart. */
const ormError = (em: EntityManager, error: unknown) => em.getPlatform().getExceptionConverter().convertException(error as Error);

/**
 * One statement on a SQLite connection, prepared once per connection (src/db/orm.ts keeps them), with none of knex's
 * query building around it: its rows, or how many rows it changed. The driver's errors as they are (callers convert).
 */
function runStatement(db: SqliteDatabase, text: string, params: readonly unknown[], method: 'all' | 'run'): unknown[] | number {
  const statement = db.prepare(text);
  const values = params.map(sqliteValue);
  return method === 'all' ? statement.all(values) : statement.run(values).changes;
}

/**
 * `use` on the driver's connection itself: the transaction's when `em` is in one (it stays with the transaction),
 * else one taken from the pool and given back after.
 */
async function onConnection<C, T>(em: EntityManager, pool: KnexClient, use: (connection: C) => T | Promise<T>): Promise<T> {
  const trx = em.getTransactionContext<{ client: KnexClient }>();
  const client = trx?.client ?? pool;
  const connection = (await client.acquireConnection()) as C;
  try {
    return await use(connection);
  } finally {
    if (!trx) client.releaseConnection(connection);
  }
}

/**
 * SQLite: the statement runs on the connection itself (the transaction's, or the pool's one connection). The driver
 * is synchronous, so knex's machinery was all the statement cost besides SQLite's own work: on the group commit,
 * more than the INSERT itself.
 */
function runOnSqlite<T>(em: EntityManager, pool: KnexClient, text: string, params: readonly unknown[], method: 'all' | 'run'): Promise<T> {
  return onConnection(em, pool, (db: SqliteDatabase) => {
    const result = runStatement(db, text, params, method);
    return (method === 'all' ? result : { affectedRows: result }) as T;
  });
}

/** A statement with its values, for callers that build statements before they know where they will run. */
export interface Statement {
  text: string;
  params: unknown[];
}

/** Statements run one after another on a SQLite connection, each to its end before the call returns. */
export interface SqliteStatements {
  rows<T = Record<string, unknown>>(statement: Statement): T[];
  run(statement: Statement): number;
}

/**
 * SQLite: `work` as one write transaction (BEGIN IMMEDIATE ... COMMIT) on the pool's one connection, run from
 * start to end in one turn of the event loop. The driver is synchronous, so no statement of anyone else can
 * fall between `work`'s, and the transaction needs none of knex's and MikroORM's machinery, which cost the
 * group commit more than its own statements did. `work` must be synchronous: anything it left pending would
 * run after the commit. Not inside another transaction: the connection is taken from the pool. The database's
 * errors come as the ORM's (see `ormError`), `work`'s own as they are.
 */
export async function sqliteTransaction<T>(em: EntityManager, work: (sql: SqliteStatements) => T): Promise<T> {
  if (em.getTransactionContext()) throw new Error('sqliteTransaction runs on the pool, not inside a transaction');
  const { client } = (em.getConnection() as Connection).getKnex();
  return onConnection(em, client, (db: SqliteDatabase) => {
    const driver = <R>(call: () => R): R => {
      try {
        return call();
      } catch (error) {
        throw ormError(em, error);
      }
    };
    const sql: SqliteStatements = {
      rows: <R>(statement: Statement) => driver(() => runStatement(db, statement.text, statement.params, 'all') as R[]),
      run: (statement) => driver(() => runStatement(db, statement.text, statement.params, 'run') as number),
    };
    driver(() => db.exec('begin immediate'));
    try {
      const result = work(sql);
      driver(() => db.exec('commit'));
      return result;
    } catch (error) {
      // A failed statement leaves the transaction open (and so may a failed COMMIT): nothing of it stays.
      if (db.inTransaction) db.exec('rollback');
      throw error;
    }
  });
}

/** What of a node-postgres client statements are run with. */
interface PostgresClient {
  query(config: { text: string; values: unknown[]; name?: string }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** `?` placeholders as PostgreSQL's `$1, $2 ...` (what knex does to a raw statement). */
const numbered = (text: string) => {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
};

/**
 * PostgreSQL: the statement goes to the driver on the connection itself (the transaction's, or one of the pool's),
 * with none of knex's query runner around it, as on SQLite. undefined goes in as NULL, as the ORM writes it.
 */
function runOnPostgres<T>(em: EntityManager, pool: KnexClient, text: string, params: readonly unknown[], method: 'all' | 'run', name?: string): Promise<T> {
  return onConnection(em, pool, async (connection: PostgresClient) => {
    const values = params.includes(undefined) ? params.map((v) => (v === undefined ? null : v)) : (params as unknown[]);
    const result = await connection.query({ text: numbered(text), values, name });
    return (method === 'all' ? result.rows : { affectedRows: result.rowCount ?? 0 }) as T;
  });
}

async function run<T>(em: EntityManager, text: string, params: readonly unknown[], method: 'all' | 'run', name?: string): Promise<T> {
  const { client } = (em.getConnection() as Connection).getKnex();
  try {
    if (client.dialect === 'sqlite3') return await runOnSqlite<T>(em, client, text, params, method);
    return await runOnPostgres<T>(em, client, text, params, method, name);
  } catch (error) {
    throw ormError(em, error);
  }
}
