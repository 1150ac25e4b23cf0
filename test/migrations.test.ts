import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EntityMetadata } from '@mikro-orm/core';
import { describe, expect, it } from 'vitest';
import { initOrm } from '../src/db/orm.js';
import { DELIVERY_COLUMNS } from '../src/modules/deliveries/ledger.js';
import { MESSAGE_COLUMNS } from '../src/modules/messages/messages.service.js';
import { freshDatabase, postgresAvailable } from './support/services.js';

/** The properties of an entity that are columns of its own table. */
const storedProps = (meta: EntityMetadata) => meta.props.filter((p) => p.persist !== false && p.kind !== '1:m' && p.kind !== 'm:n');

/** The migrations must build exactly the schema the entities describe, on both drivers. */
describe('migrations match the entities', () => {
  it.skipIf(!postgresAvailable)('on PostgreSQL: the schema differs from the entities in nothing', async () => {
    const db = await freshDatabase('postgres');
    const orm = await initOrm({ driver: 'postgresql', url: db.url });
    try {
      expect(await orm.schema.getUpdateSchemaSQL({ wrap: false })).toBe('');
    } finally {
      await orm.close(true);
      await db.drop();
    }
  });

  // Deliveries and messages are written by hand-written multi-row INSERTs on the hot paths: a column added to the
  // entity must be added to them too, or its rows would take the column's default without anyone noticing.
  it('the hand-written inserts name every column of their tables', async () => {
    const orm = await initOrm({ driver: 'sqlite', dbName: path.join(mkdtempSync(path.join(tmpdir(), 'sb-mig-')), 'db.sqlite') });
    try {
      const columnsOf = (entity: string) =>
        storedProps(orm.getMetadata().find(entity)!)
          .flatMap((p) => p.fieldNames)
          .sort();
      expect([...DELIVERY_COLUMNS].sort()).toEqual(columnsOf('Delivery'));
      expect([...MESSAGE_COLUMNS].sort()).toEqual(columnsOf('Message'));
    } finally {
      await orm.close(true);
    }
  });

  // SQLite's schema comparator rebuilds tables with check constraints even when nothing changed, so
  // the check there is structural: every table and column the entities need exists, nullable as declared.
  it('on SQLite: every entity table and column exists', async () => {
    const orm = await initOrm({ driver: 'sqlite', dbName: path.join(mkdtempSync(path.join(tmpdir(), 'sb-mig-')), 'db.sqlite') });
    try {
      const conn = orm.em.getConnection();
      for (const meta of Object.values(orm.getMetadata().getAll())) {
        if (meta.embeddable || meta.virtual || !meta.tableName) continue;
        const columns = (await conn.execute(`pragma table_info(\`${meta.tableName}\`)`)) as { name: string; notnull: number }[];
        expect(columns.length, `table ${meta.tableName}`).toBeGreaterThan(0);
        const byName = new Map(columns.map((c) => [c.name, c]));
        for (const prop of storedProps(meta)) {
          for (const field of prop.fieldNames ?? []) {
            const column = byName.get(field);
            expect(column, `${meta.tableName}.${field}`).toBeDefined();
            if (!prop.primary) expect(column!.notnull === 0, `${meta.tableName}.${field} nullable`).toBe(!!prop.nullable);
          }
        }
      }
    } finally {
      await orm.close(true);
    }
  });
});
