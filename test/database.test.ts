import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { initOrm } from '../src/db/orm.js';
import { loadConfig } from '../src/config.js';
import { sqliteTransaction, sqlRows, sqlRun } from '../src/infra/sql.js';
import { databases, freshDatabase } from './support/services.js';

describe('SQLite connections', () => {
  it('all carry the pragmas, not only the first the pool opened', async () => {
    const orm = await initOrm({ driver: 'sqlite', dbName: path.join(mkdtempSync(path.join(tmpdir(), 'sb-db-')), 'db.sqlite') });
    try {
      const knex = (orm.em.getConnection() as unknown as { getKnex(): import('@mikro-orm/knex').Knex }).getKnex();
      // Concurrent transactions each hold a connection of their own, so the pool has to open new ones.
      const seen = await Promise.all(
        Array.from({ length: 4 }, () =>
          knex.transaction(async (trx) => {
            const [fk] = await trx.raw('pragma foreign_keys');
            const [busy] = await trx.raw('pragma busy_timeout');
            const [sync] = await trx.raw('pragma synchronous');
            await new Promise((resolve) => setTimeout(resolve, 50));
            return { fk: Object.values(fk)[0], busy: Object.values(busy)[0], sync: Object.values(sync)[0] };
          }),
        ),
      );
      expect(seen).toEqual(Array.from({ length: 4 }, () => ({ fk: 1, busy: 5000, sync: 1 })));
      const [mode] = await knex.raw('pragma journal_mode');
      expect(Object.values(mode)[0]).toBe('wal');
    } finally {
      await orm.close(true);
    }
  });
  it('keep their connection past the libsql dialect\'s 10 s, and their prepared statements with it', async () => {
    const orm = await initOrm({ driver: 'sqlite', dbName: path.join(mkdtempSync(path.join(tmpdir(), 'sb-db-')), 'db.sqlite') });
    try {
      const { client } = (orm.em.getConnection() as unknown as { getKnex(): { client: { acquireConnection(): Promise<any>; releaseConnection(c: unknown): unknown } } }).getKnex();
      const hold = async () => {
        const connection = await client.acquireConnection();
        client.releaseConnection(connection);
        return connection;
      };
      const first = await hold();
      const statement = first.prepare('select count(*) as n from channels where organisation_id = ?');
      // The same text is the same statement, run again with new values.
      expect(first.prepare('select count(*) as n from channels where organisation_id = ?')).toBe(statement);
      expect(statement.all(['none'])).toEqual([{ n: 0 }]);
      await new Promise((resolve) => setTimeout(resolve, 10_500));
      const later = await hold();
      expect(later).toBe(first);
      expect(later.prepare('select count(*) as n from channels where organisation_id = ?')).toBe(statement);
    } finally {
      await orm.close(true);
    }
  }, 20_000);

  it('run a synchronous transaction whole or not at all, with the ORM\'s errors for the database\'s', async () => {
    const orm = await initOrm({ driver: 'sqlite', dbName: path.join(mkdtempSync(path.join(tmpdir(), 'sb-db-')), 'db.sqlite') });
    try {
      const em = orm.em.fork();
      await sqlRun(em, 'create table pairs (k text primary key, v integer not null)');
      const put = (k: string, v: number) => ({ text: 'insert into pairs (k, v) values (?, ?)', params: [k, v] });
      const all = () => sqlRows<{ k: string; v: number }>(em, 'select k, v from pairs order by k');

      expect(await sqliteTransaction(em, (sql) => [sql.run(put('a', 1)), sql.rows<{ n: number }>({ text: 'select count(*) as n from pairs', params: [] })[0].n])).toEqual([1, 1]);
      // A statement that fails after another succeeded: neither stays, and the error is the ORM's.
      const duplicate = sqliteTransaction(em, (sql) => {
        sql.run(put('b', 2));
        sql.run(put('a', 3));
      });
      await expect(duplicate).rejects.toBeInstanceOf(UniqueConstraintViolationException);
      // The work's own error, as it is: what it wrote is rolled back.
      const mine = new Error('not this batch');
      await expect(
        sqliteTransaction(em, (sql) => {
          sql.run(put('c', 4));
          throw mine;
        }),
      ).rejects.toBe(mine);
      expect(await all()).toEqual([{ k: 'a', v: 1 }]);
      // The connection went back to the pool out of any transaction: the next one commits as usual.
      await sqliteTransaction(em, (sql) => sql.run(put('d', 5)));
      expect(await all()).toEqual([{ k: 'a', v: 1 }, { k: 'd', v: 5 }]);
      await expect(em.transactional((tx) => sqliteTransaction(tx, () => 0))).rejects.toThrow(/not inside a transaction/);
    } finally {
      await orm.close(true);
    }
  });
});

for (const db of databases) {
  describe(`raw statements on ${db}`, () => {
    it('run on the transaction they are in, bind values, keep named statements, and raise the ORM\'s errors', async () => {
      const fresh = await freshDatabase(db);
      const orm = await initOrm(loadConfig({ DATABASE_URL: fresh.url }).database);
      try {
        const em = orm.em.fork();
        await sqlRun(em, 'create table pairs (k text primary key, v integer not null)');
        const named = (k: string) => sqlRows<{ k: string; v: number }>(em, 'select k, v from pairs where k = ?', [k], 'pairs_by_key');
        // Inside a transaction, on its connection: its own uncommitted rows are visible to it, and (PostgreSQL) not to
        // others. SQLite's pool is one connection, which the transaction holds: nothing else may ask for one meanwhile.
        await em.transactional(async (tx) => {
          expect(await sqlRun(tx, 'insert into pairs (k, v) values (?, ?), (?, ?)', ['a', 1, "it's ? 'quoted'", 2])).toBe(2);
          expect(await sqlRows(tx, 'select count(*) as n from pairs')).toEqual([{ n: db === 'postgres' ? '2' : 2 }]);
          if (db === 'postgres') expect(await named('a')).toEqual([]);
        });
        // A named statement is prepared once per connection and run again with other values.
        expect(await named('a')).toEqual([{ k: 'a', v: 1 }]);
        expect(await named("it's ? 'quoted'")).toEqual([{ k: "it's ? 'quoted'", v: 2 }]);
        expect(await sqlRun(em, 'update pairs set v = ? where k = ?', [3, 'a'])).toBe(1);
        await expect(sqlRun(em, 'insert into pairs (k, v) values (?, ?)', ['a', 9])).rejects.toBeInstanceOf(UniqueConstraintViolationException);
        // A failed transaction leaves nothing behind.
        await expect(
          em.transactional(async (tx) => {
            await sqlRun(tx, 'insert into pairs (k, v) values (?, ?)', ['b', 1]);
            await sqlRun(tx, 'insert into pairs (k, v) values (?, ?)', ['b', 2]);
          }),
        ).rejects.toBeInstanceOf(UniqueConstraintViolationException);
        expect(await sqlRows(em, 'select k, v from pairs order by v')).toEqual([{ k: "it's ? 'quoted'", v: 2 }, { k: 'a', v: 3 }]);
      } finally {
        await orm.close(true);
        await fresh.drop();
      }
    });
  });
}
