import { Migration } from '@mikro-orm/migrations';

export class Migration20261130164500_delivery_targets extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "delivery_targets" ("id" uuid not null, "organisation_id" uuid not null, "key" varchar(512) not null, "kind" varchar(255) not null, "target_id" varchar(255) null, "channel_id" varchar(255) null, "url" text not null, "state" text check ("state" in ('closed', 'open', 'half_open', 'disabled')) not null default 'closed', "consecutive_failures" int not null default 0, "failing_since" timestamptz null, "open_until" timestamptz null, "probe_until" timestamptz null, "last_error" text null, "last_error_at" timestamptz null, "last_success_at" timestamptz null, "disabled_reason" text null, "disabled_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "delivery_targets_pkey" primary key ("id"));`);
    this.addSql(`alter table "delivery_targets" add constraint "delivery_targets_key_unique" unique ("key");`);

    this.addSql(`alter table "delivery_targets" add constraint "delivery_targets_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "delivery_targets" cascade;`);
  }

}
