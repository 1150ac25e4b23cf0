import { Migration } from '@mikro-orm/migrations';

export class Migration20261125122820_agenda_jobs extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "agenda_jobs" ("id" varchar(36) not null, "name" varchar(255) not null, "priority" int not null default 0, "next_run_at" bigint null, "type" varchar(16) not null default 'normal', "locked_at" bigint null, "last_run_at" bigint null, "last_finished_at" bigint null, "failed_at" bigint null, "fail_count" int null, "fail_reason" text null, "repeat_timezone" varchar(255) null, "repeat_interval" varchar(255) null, "repeat_at" varchar(255) null, "data" text null, "disabled" boolean not null default false, "progress" double precision null, "fork" boolean not null default false, "last_modified_by" varchar(255) null, "debounce_started_at" bigint null, "start_date" bigint null, "end_date" bigint null, "skip_days" varchar(255) null, "unique_key" text null, "created_at" bigint not null, "updated_at" bigint not null, constraint "agenda_jobs_pkey" primary key ("id"));`);
    this.addSql(`create index "agenda_jobs_name_next_run_at_index" on "agenda_jobs" ("name", "next_run_at");`);
    this.addSql(`alter table "agenda_jobs" add constraint "agenda_jobs_name_unique_key_unique" unique ("name", "unique_key");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "agenda_jobs" cascade;`);
  }

}
