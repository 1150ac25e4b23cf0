import { Migration } from '@mikro-orm/migrations';

export class Migration20261130184745_delivery_order extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "delivery_targets" add column "ordered" boolean not null default false, add column "max_per_second" int null;`);

    this.addSql(`alter table "deliveries" add column "seq" bigint null, add column "order_key" varchar(512) null;`);
    this.addSql(`create index "deliveries_order_key_seq_index" on "deliveries" ("order_key", "seq", "id") where "order_key" is not null and "status" = 'pending';`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "deliveries_order_key_seq_index";`);
    this.addSql(`alter table "deliveries" drop column "seq", drop column "order_key";`);

    this.addSql(`alter table "delivery_targets" drop column "ordered", drop column "max_per_second";`);
  }

}
