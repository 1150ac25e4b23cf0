import { Migration } from '@mikro-orm/migrations';

/** Replays: the attempt a delivery sends again, and the history run a Rocket.Chat replay repeats (columns added once, whoever added them first). */
export class Migration20261130155500_delivery_replays extends Migration {

  override async up(): Promise<void> {
    for (const table of ['deliveries', 'webhook_integration_history']) {
      const found = await this.execute(`select 1 from information_schema.columns where table_schema = current_schema() and table_name = ? and column_name = 'replay_of'`, [table]);
      if (!found.length) this.addSql(`alter table "${table}" add column "replay_of" varchar(${table === 'deliveries' ? 26 : 255}) null;`);
    }
    this.addSql(`create index if not exists "deliveries_webhook_id_index" on "deliveries" ("webhook_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "deliveries_webhook_id_index";`);
    this.addSql(`alter table "deliveries" drop column if exists "replay_of";`);

    this.addSql(`alter table "webhook_integration_history" drop column if exists "replay_of";`);
  }

}
