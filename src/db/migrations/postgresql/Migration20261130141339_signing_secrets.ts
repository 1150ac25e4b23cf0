import { Migration } from '@mikro-orm/migrations';

export class Migration20261130141339_signing_secrets extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "integrations" add column "signing_secret" text null, add column "previous_signing_secret" text null, add column "previous_signing_secret_expires_at" timestamptz null;`);

    this.addSql(`alter table "deliveries" add column "webhook_id" varchar(26) null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "deliveries" drop column "webhook_id";`);

    this.addSql(`alter table "integrations" drop column "signing_secret", drop column "previous_signing_secret", drop column "previous_signing_secret_expires_at";`);
  }

}
