import { Migration } from '@mikro-orm/migrations';

export class Migration20261130141340_signing_secrets extends Migration {

  override async up(): Promise<void> {
    this.addSql("alter table `integrations` add column `signing_secret` text null;");
    this.addSql("alter table `integrations` add column `previous_signing_secret` text null;");
    this.addSql("alter table `integrations` add column `previous_signing_secret_expires_at` datetime null;");
    this.addSql("alter table `deliveries` add column `webhook_id` text null;");
  }

  override async down(): Promise<void> {

  }

}
