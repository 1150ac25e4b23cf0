import { Migration } from '@mikro-orm/migrations';

export class Migration20261130154045_message_commit_sequence extends Migration {

  override async up(): Promise<void> {
    this.addSql("create table `channel_sequences` (`channel_id` text not null, `last_seq` bigint not null, constraint `channel_sequences_channel_id_foreign` foreign key(`channel_id`) references `channels`(`id`) on delete cascade on update cascade, primary key (`channel_id`));");
    this.addSql("create index `channel_sequences_channel_id_index` on `channel_sequences` (`channel_id`);");
    // SQLite adds a NOT NULL column only with a default; every row gets its number right after.
    this.addSql("alter table `messages` add column `seq` bigint not null default 0;");
    this.addSql("update `messages` set `seq` = r.`n` from (select `id`, row_number() over (partition by `channel_id` order by `id`) as `n` from `messages`) as r where r.`id` = `messages`.`id`;");
    this.addSql("insert into `channel_sequences` (`channel_id`, `last_seq`) select `channel_id`, max(`seq`) from `messages` group by `channel_id`;");
    this.addSql("create unique index `messages_channel_id_seq_unique` on `messages` (`channel_id`, `seq`);");
  }

  override async down(): Promise<void> {
    this.addSql("drop index `messages_channel_id_seq_unique`;");
    this.addSql("alter table `messages` drop column `seq`;");
    this.addSql("drop table if exists `channel_sequences`;");
  }

}
