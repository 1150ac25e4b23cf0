/**
 * The embedded Agenda store: Agenda 6's custom-backend interface (AgendaBackend) over the gateway's own
 * database through MikroORM, with Agenda's in-memory notification channel. Replicas sharing the
 * database (PostgreSQL, or one SQLite file) do not hear each other's notifications; they find each
 * other's jobs by polling (`processEvery`), and the repository's locking keeps each run to one replica.
 */
import type { MikroORM } from '@mikro-orm/core';
import { InMemoryNotificationChannel, type AgendaBackend } from 'agenda';
import { SqlJobRepository, type SqlDialect } from './repository.js';

export { SqlJobRepository, uniqueKeyOf, dataContains, type SqlDialect } from './repository.js';
export { AgendaJob } from './agenda-job.entity.js';

export class SqlBackend implements AgendaBackend {
  readonly name: string;
  readonly repository: SqlJobRepository;
  readonly notificationChannel = new InMemoryNotificationChannel();
  /** The ORM belongs to the gateway: agenda.stop() must not close it. */
  readonly ownsConnection = false;

  constructor(orm: MikroORM, dialect: SqlDialect) {
    this.name = dialect === 'postgresql' ? 'Embedded (PostgreSQL via MikroORM)' : 'Embedded (SQLite via MikroORM)';
    this.repository = new SqlJobRepository(orm, dialect);
  }

  async connect(): Promise<void> {
    await this.repository.connect();
  }

  async disconnect(): Promise<void> {}
}
