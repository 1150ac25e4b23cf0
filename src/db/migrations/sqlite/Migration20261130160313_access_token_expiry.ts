import { Migration } from '@mikro-orm/migrations';

export class Migration20261130160313_access_token_expiry extends Migration {

  override async up(): Promise<void> {
    this.addSql("alter table `access_tokens` add column `expires_at` datetime null;");
  }

  override async down(): Promise<void> {
    this.addSql("alter table `access_tokens` drop column `expires_at`;");
  }

}
