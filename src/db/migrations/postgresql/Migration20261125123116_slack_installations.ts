import { Migration } from '@mikro-orm/migrations';

export class Migration20261125123116_slack_installations extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "slack_installations" ("id" uuid not null, "organisation_id" uuid not null, "user_id" uuid null, "access_token" text not null, "token_type" varchar(255) null, "scope" text null, "bot_user_id" varchar(255) null, "app_id" varchar(255) null, "team_id" varchar(255) null, "team_name" varchar(255) null, "channel" varchar(255) null, "channel_id" varchar(255) null, "configuration_url" text null, "webhook_url" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "slack_installations_pkey" primary key ("id"));`);
    this.addSql(`alter table "slack_installations" add constraint "slack_installations_organisation_id_unique" unique ("organisation_id");`);

    this.addSql(`alter table "slack_installations" add constraint "slack_installations_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "slack_installations" add constraint "slack_installations_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete set null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "slack_installations" cascade;`);
  }

}
