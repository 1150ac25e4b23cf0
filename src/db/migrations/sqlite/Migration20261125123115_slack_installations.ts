import { Migration } from '@mikro-orm/migrations';

export class Migration20261125123115_slack_installations extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`slack_installations\` (\`id\` text not null, \`organisation_id\` text not null, \`user_id\` text null, \`access_token\` text not null, \`token_type\` text null, \`scope\` text null, \`bot_user_id\` text null, \`app_id\` text null, \`team_id\` text null, \`team_name\` text null, \`channel\` text null, \`channel_id\` text null, \`configuration_url\` text null, \`webhook_url\` text null, \`created_at\` datetime not null, \`updated_at\` datetime not null, constraint \`slack_installations_organisation_id_foreign\` foreign key(\`organisation_id\`) references \`organisations\`(\`id\`) on delete cascade on update cascade, constraint \`slack_installations_user_id_foreign\` foreign key(\`user_id\`) references \`users\`(\`id\`) on delete set null on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`slack_installations_organisation_id_index\` on \`slack_installations\` (\`organisation_id\`);`);
    this.addSql(`create unique index \`slack_installations_organisation_id_unique\` on \`slack_installations\` (\`organisation_id\`);`);
    this.addSql(`create index \`slack_installations_user_id_index\` on \`slack_installations\` (\`user_id\`);`);

  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`slack_installations\`;`);
  }

}
