import { Migration } from '@mikro-orm/migrations';

export class Migration20261130154128_tick_pairs extends Migration {

  override async up(): Promise<void> {
    this.addSql("create table `tick_pairs` (`link_id` text not null, `integration_id` text not null, `channel_id` text not null, `schedule` text not null, `slot_at` bigint not null, `state` text not null default 'done', `claimed_by` text null, `lease_until` bigint null, `attempts` integer not null default 0, `last_tick_at` bigint null, `missed_slots` integer not null default 0, constraint `tick_pairs_link_id_foreign` foreign key(`link_id`) references `channel_integrations`(`id`) on delete cascade on update cascade, primary key (`link_id`));");
    this.addSql("create index `tick_pairs_channel_id_index` on `tick_pairs` (`channel_id`);");
    this.addSql("create index `tick_pairs_schedule_slot_at_index` on `tick_pairs` (`schedule`, `slot_at`);");
    this.addSql("create index `tick_pairs_schedule_state_lease_until_index` on `tick_pairs` (`schedule`, `state`, `lease_until`);");
  }

  override async down(): Promise<void> {
    this.addSql("drop table if exists `tick_pairs`;");
  }

}
