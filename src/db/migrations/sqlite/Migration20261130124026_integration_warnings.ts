import { Migration } from '@mikro-orm/migrations';

export class Migration20261130124026_integration_warnings extends Migration {

  override async up(): Promise<void> {
    this.addSql("alter table `integrations` add column `warnings` json null;");
  }

  override async down(): Promise<void> {
    this.addSql("alter table `integrations` drop column `warnings`;");
  }

}
