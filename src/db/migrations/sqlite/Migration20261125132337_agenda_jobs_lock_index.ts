import { Migration } from '@mikro-orm/migrations';

export class Migration20261125132337_agenda_jobs_lock_index extends Migration {

  override async up(): Promise<void> {
    this.addSql("create index `agenda_jobs_name_locked_at_next_run_at_priority_index` on `agenda_jobs` (`name`, `locked_at`, `next_run_at`, `priority`);");
  }

  override async down(): Promise<void> {
    this.addSql("drop index `agenda_jobs_name_locked_at_next_run_at_priority_index`;");
  }

}
