import { Migration } from '@mikro-orm/migrations';

export class Migration20261130125824_integration_all_channels extends Migration {

  override async up(): Promise<void> {
    this.addSql("alter table `integrations` add column `all_channels` integer not null default false;");
  }

  override async down(): Promise<void> {
    this.addSql("alter table `integrations` drop column `all_channels`;");
  }

}
