import { Migration } from '@mikro-orm/migrations';

export class Migration20261125122836_messages_deliveries extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "messages" ("id" varchar(26) not null, "channel_id" uuid not null, "organisation_id" uuid not null, "event_name" varchar(255) not null default '', "username" varchar(255) not null default '', "status" varchar(255) not null default '', "message" text not null, "payload" jsonb null, "source" varchar(255) not null, "user_id" varchar(255) null, "modifiers_applied" jsonb not null, "created_at" timestamptz not null, constraint "messages_pkey" primary key ("id"));`);
    this.addSql(`create index "messages_channel_id_id_index" on "messages" ("channel_id", "id");`);

    this.addSql(`create table "deliveries" ("id" varchar(26) not null, "organisation_id" uuid not null, "channel_id" uuid null, "kind" varchar(255) not null, "target_id" varchar(255) null, "url" text not null, "method" varchar(255) not null default 'POST', "body" jsonb null, "headers" jsonb null, "attempt" int not null default 1, "retry" jsonb not null, "status" text check ("status" in ('pending', 'succeeded', 'failed', 'retried')) not null, "status_code" int null, "latency_ms" int null, "error" text null, "response" text null, "next_attempt_at" timestamptz null, "locked_by" varchar(255) null, "locked_until" timestamptz null, "message_id" varchar(255) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "deliveries_pkey" primary key ("id"));`);
    this.addSql(`create index "deliveries_channel_id_id_index" on "deliveries" ("channel_id", "id");`);
    this.addSql(`create index "deliveries_status_next_attempt_at_index" on "deliveries" ("status", "next_attempt_at");`);
    this.addSql(`create index "deliveries_message_id_index" on "deliveries" ("message_id");`);

    this.addSql(`alter table "messages" add constraint "messages_channel_id_foreign" foreign key ("channel_id") references "channels" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "messages" add constraint "messages_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "deliveries" add constraint "deliveries_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "deliveries" add constraint "deliveries_channel_id_foreign" foreign key ("channel_id") references "channels" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "messages" cascade;`);

    this.addSql(`drop table if exists "deliveries" cascade;`);
  }

}
