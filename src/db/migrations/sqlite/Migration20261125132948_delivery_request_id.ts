import { Migration } from '@mikro-orm/migrations';

export class Migration20261125132948_delivery_request_id extends Migration {

  override async up(): Promise<void> {
    this.addSql("alter table `deliveries` add column `request_id` text null;");
  }

  override async down(): Promise<void> {
    this.addSql("alter table `deliveries` drop column `request_id`;");
  }

}
