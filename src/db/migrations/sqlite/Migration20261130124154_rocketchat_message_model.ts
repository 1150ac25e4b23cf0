import { Migration } from '@mikro-orm/migrations';

export class Migration20261130124154_rocketchat_message_model extends Migration {

  override async up(): Promise<void> {
    this.addSql("alter table `messages` add column `alias` text null;");
    this.addSql("alter table `messages` add column `avatar` text null;");
    this.addSql("alter table `messages` add column `emoji` text null;");
    this.addSql("alter table `messages` add column `attachments` json null;");
    this.addSql("alter table `webhook_integration_history` add column `script_http_calls` json null;");
  }

  override async down(): Promise<void> {
    this.addSql("alter table `webhook_integration_history` drop column `script_http_calls`;");
    this.addSql("alter table `messages` drop column `attachments`;");
    this.addSql("alter table `messages` drop column `emoji`;");
    this.addSql("alter table `messages` drop column `avatar`;");
    this.addSql("alter table `messages` drop column `alias`;");
  }

}
