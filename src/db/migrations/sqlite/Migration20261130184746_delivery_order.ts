import { Migration } from '@mikro-orm/migrations';

export class Migration20261130184746_delivery_order extends Migration {

  override async up(): Promise<void> {
    this.addSql("alter table `delivery_targets` add column `ordered` integer not null default false;");
    this.addSql("alter table `delivery_targets` add column `max_per_second` integer null;");
    this.addSql("alter table `deliveries` add column `seq` bigint null;");
    this.addSql("alter table `deliveries` add column `order_key` text null;");
    this.addSql("create index \"deliveries_order_key_seq_index\" on \"deliveries\" (\"order_key\", \"seq\", \"id\") where \"order_key\" is not null and \"status\" = 'pending';");
  }

  override async down(): Promise<void> {

  }

}
