import { Migration } from '@mikro-orm/migrations';

export class Migration20261130154043_message_commit_sequence extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "channel_sequences" ("channel_id" uuid not null, "last_seq" bigint not null, constraint "channel_sequences_pkey" primary key ("channel_id"));`);

    this.addSql(`alter table "channel_sequences" add constraint "channel_sequences_channel_id_foreign" foreign key ("channel_id") references "channels" ("id") on update cascade on delete cascade;`);

    // Messages stored before sequences existed are numbered in id order, per channel.
    this.addSql(`alter table "messages" add column "seq" bigint null;`);
    this.addSql(`update "messages" as m set "seq" = r."n" from (select "id", row_number() over (partition by "channel_id" order by "id") as "n" from "messages") as r where m."id" = r."id";`);
    this.addSql(`alter table "messages" alter column "seq" set not null;`);
    this.addSql(`insert into "channel_sequences" ("channel_id", "last_seq") select "channel_id", max("seq") from "messages" group by "channel_id";`);
    this.addSql(`alter table "messages" add constraint "messages_channel_id_seq_unique" unique ("channel_id", "seq");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "channel_sequences" cascade;`);

    this.addSql(`alter table "messages" drop constraint "messages_channel_id_seq_unique";`);
    this.addSql(`alter table "messages" drop column "seq";`);
  }

}
