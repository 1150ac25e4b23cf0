import { Migration } from '@mikro-orm/migrations';

/** Replays: the attempt a delivery sends again, and the history run a Rocket.Chat replay repeats (columns added once, whoever added them first). */
export class Migration20261130155500_delivery_replays extends Migration {

  override async up(): Promise<void> {
    for (const table of ['deliveries', 'webhook_integration_history']) {
      const columns = await this.execute(`pragma table_info(\`${table}\`)`);
      if (!columns.some((c) => c.name === 'replay_of')) this.addSql(`alter table \`${table}\` add column \`replay_of\` text null;`);
    }
    this.addSql(`create index if not exists \`deliveries_webhook_id_index\` on \`deliveries\` (\`webhook_id\`);`);
  }

  override async down(): Promise<void> {

  }

}
