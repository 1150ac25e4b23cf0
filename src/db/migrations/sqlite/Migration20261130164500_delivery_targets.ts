import { Migration } from '@mikro-orm/migrations';

export class Migration20261130164500_delivery_targets extends Migration {

  override async up(): Promise<void> {
    this.addSql("create table `delivery_targets` (`id` text not null, `organisation_id` text not null, `key` text not null, `kind` text not null, `target_id` text null, `channel_id` text null, `url` text not null, `state` text check (`state` in ('closed', 'open', 'half_open', 'disabled')) not null default 'closed', `consecutive_failures` integer not null default 0, `failing_since` datetime null, `open_until` datetime null, `probe_until` datetime null, `last_error` text null, `last_error_at` datetime null, `last_success_at` datetime null, `disabled_reason` text null, `disabled_at` datetime null, `created_at` datetime not null, `updated_at` datetime not null, constraint `delivery_targets_organisation_id_foreign` foreign key(`organisation_id`) references `organisations`(`id`) on delete cascade on update cascade, primary key (`id`));");
    this.addSql("create index `delivery_targets_organisation_id_index` on `delivery_targets` (`organisation_id`);");
    this.addSql("create unique index `delivery_targets_key_unique` on `delivery_targets` (`key`);");
  }

  override async down(): Promise<void> {

  }

}
