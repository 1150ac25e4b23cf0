import { Migration } from '@mikro-orm/migrations';

export class Migration20261130124154_rocketchat_message_model extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "messages" add column "alias" varchar(255) null, add column "avatar" text null, add column "emoji" varchar(255) null, add column "attachments" jsonb null;`);

    this.addSql(`alter table "webhook_integration_history" add column "script_http_calls" jsonb null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "messages" drop column "alias", drop column "avatar", drop column "emoji", drop column "attachments";`);

    this.addSql(`alter table "webhook_integration_history" drop column "script_http_calls";`);
  }

}
