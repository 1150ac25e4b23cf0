import { Migration } from '@mikro-orm/migrations';

export class Migration20261125122820_agenda_jobs extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`agenda_jobs\` (\`id\` text not null, \`name\` text not null, \`priority\` integer not null default 0, \`next_run_at\` bigint null, \`type\` text not null default 'normal', \`locked_at\` bigint null, \`last_run_at\` bigint null, \`last_finished_at\` bigint null, \`failed_at\` bigint null, \`fail_count\` integer null, \`fail_reason\` text null, \`repeat_timezone\` text null, \`repeat_interval\` text null, \`repeat_at\` text null, \`data\` text null, \`disabled\` integer not null default false, \`progress\` double null, \`fork\` integer not null default false, \`last_modified_by\` text null, \`debounce_started_at\` bigint null, \`start_date\` bigint null, \`end_date\` bigint null, \`skip_days\` text null, \`unique_key\` text null, \`created_at\` bigint not null, \`updated_at\` bigint not null, primary key (\`id\`));`);
    this.addSql(`create index \`agenda_jobs_name_next_run_at_index\` on \`agenda_jobs\` (\`name\`, \`next_run_at\`);`);
    this.addSql(`create unique index \`agenda_jobs_name_unique_key_unique\` on \`agenda_jobs\` (\`name\`, \`unique_key\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`agenda_jobs\`;`);
  }

}
