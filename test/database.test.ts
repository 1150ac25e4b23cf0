import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initOrm } from '../src/db/orm.js';

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
});
