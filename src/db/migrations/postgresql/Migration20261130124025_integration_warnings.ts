import { Migration } from '@mikro-orm/migrations';

export class Migration20261130124025_integration_warnings extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "integrations" add column "warnings" jsonb null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "integrations" drop column "warnings";`);
  }

}
