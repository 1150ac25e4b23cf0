import { Migration } from '@mikro-orm/migrations';

export class Migration20261130154126_tick_pairs extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "tick_pairs" ("link_id" uuid not null, "integration_id" uuid not null, "channel_id" uuid not null, "schedule" varchar(255) not null, "slot_at" bigint not null, "state" varchar(8) not null default 'done', "claimed_by" varchar(255) null, "lease_until" bigint null, "attempts" int not null default 0, "last_tick_at" bigint null, "missed_slots" int not null default 0, constraint "tick_pairs_pkey" primary key ("link_id"));`);
    this.addSql(`create index "tick_pairs_channel_id_index" on "tick_pairs" ("channel_id");`);
    this.addSql(`create index "tick_pairs_schedule_slot_at_index" on "tick_pairs" ("schedule", "slot_at");`);
    this.addSql(`create index "tick_pairs_schedule_state_lease_until_index" on "tick_pairs" ("schedule", "state", "lease_until");`);

    this.addSql(`alter table "tick_pairs" add constraint "tick_pairs_link_id_foreign" foreign key ("link_id") references "channel_integrations" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "tick_pairs" cascade;`);
  }

}
