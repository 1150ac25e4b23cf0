import { Migration } from '@mikro-orm/migrations';

export class Migration20261125121821_initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`organisations\` (\`id\` text not null, \`name\` text not null, \`created_at\` datetime not null, \`updated_at\` datetime not null, primary key (\`id\`));`);

    this.addSql(`create table \`integrations\` (\`id\` text not null, \`organisation_id\` text not null, \`name\` text not null, \`json_url\` text not null, \`spec\` json not null, \`app_name\` text not null, \`app_description\` text not null default '', \`app_logo\` text null, \`app_url\` text null, \`background_color\` text null, \`integration_type\` text check (\`integration_type\` in ('modifier', 'interval', 'output')) not null, \`integration_category\` text null, \`target_url\` text null, \`tick_url\` text null, \`key_features\` json not null, \`settings_schema\` json not null, \`is_active\` integer not null default true, \`is_system_integration\` integer not null default false, \`auth_credential\` text null, \`created_at\` datetime not null, \`updated_at\` datetime not null, constraint \`integrations_organisation_id_foreign\` foreign key(\`organisation_id\`) references \`organisations\`(\`id\`) on delete cascade on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`integrations_organisation_id_index\` on \`integrations\` (\`organisation_id\`);`);
    this.addSql(`create index \`integrations_organisation_id_integration_type_index\` on \`integrations\` (\`organisation_id\`, \`integration_type\`);`);

    this.addSql(`create table \`integration_settings\` (\`id\` text not null, \`organisation_id\` text not null, \`integration_id\` text not null, \`label\` text not null, \`value\` json not null, \`created_at\` datetime not null, \`updated_at\` datetime not null, constraint \`integration_settings_organisation_id_foreign\` foreign key(\`organisation_id\`) references \`organisations\`(\`id\`) on delete cascade on update cascade, constraint \`integration_settings_integration_id_foreign\` foreign key(\`integration_id\`) references \`integrations\`(\`id\`) on delete cascade on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`integration_settings_organisation_id_index\` on \`integration_settings\` (\`organisation_id\`);`);
    this.addSql(`create index \`integration_settings_integration_id_index\` on \`integration_settings\` (\`integration_id\`);`);
    this.addSql(`create unique index \`integration_settings_integration_id_label_unique\` on \`integration_settings\` (\`integration_id\`, \`label\`);`);

    this.addSql(`create table \`channels\` (\`id\` text not null, \`organisation_id\` text not null, \`name\` text not null, \`description\` text not null default '', \`created_at\` datetime not null, \`updated_at\` datetime not null, constraint \`channels_organisation_id_foreign\` foreign key(\`organisation_id\`) references \`organisations\`(\`id\`) on delete cascade on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`channels_organisation_id_index\` on \`channels\` (\`organisation_id\`);`);
    this.addSql(`create index \`channels_organisation_id_created_at_id_index\` on \`channels\` (\`organisation_id\`, \`created_at\`, \`id\`);`);

    this.addSql(`create table \`channel_integration_settings\` (\`id\` text not null, \`organisation_id\` text not null, \`integration_id\` text not null, \`channel_id\` text not null, \`label\` text not null, \`value\` json not null, \`created_at\` datetime not null, \`updated_at\` datetime not null, constraint \`channel_integration_settings_organisation_id_foreign\` foreign key(\`organisation_id\`) references \`organisations\`(\`id\`) on delete cascade on update cascade, constraint \`channel_integration_settings_integration_id_foreign\` foreign key(\`integration_id\`) references \`integrations\`(\`id\`) on delete cascade on update cascade, constraint \`channel_integration_settings_channel_id_foreign\` foreign key(\`channel_id\`) references \`channels\`(\`id\`) on delete cascade on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`channel_integration_settings_organisation_id_index\` on \`channel_integration_settings\` (\`organisation_id\`);`);
    this.addSql(`create index \`channel_integration_settings_integration_id_index\` on \`channel_integration_settings\` (\`integration_id\`);`);
    this.addSql(`create index \`channel_integration_settings_channel_id_index\` on \`channel_integration_settings\` (\`channel_id\`);`);
    this.addSql(`create unique index \`channel_integration_settings_integration_id_channel_id_label_unique\` on \`channel_integration_settings\` (\`integration_id\`, \`channel_id\`, \`label\`);`);

    this.addSql(`create table \`channel_integrations\` (\`id\` text not null, \`channel_id\` text not null, \`integration_id\` text not null, \`position\` integer not null default 0, \`created_at\` datetime not null, constraint \`channel_integrations_channel_id_foreign\` foreign key(\`channel_id\`) references \`channels\`(\`id\`) on delete cascade on update cascade, constraint \`channel_integrations_integration_id_foreign\` foreign key(\`integration_id\`) references \`integrations\`(\`id\`) on delete cascade on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`channel_integrations_channel_id_index\` on \`channel_integrations\` (\`channel_id\`);`);
    this.addSql(`create index \`channel_integrations_integration_id_index\` on \`channel_integrations\` (\`integration_id\`);`);
    this.addSql(`create unique index \`channel_integrations_channel_id_integration_id_unique\` on \`channel_integrations\` (\`channel_id\`, \`integration_id\`);`);

    this.addSql(`create table \`users\` (\`id\` text not null, \`name\` text not null, \`email\` text null, \`is_admin\` integer not null default false, \`created_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create unique index \`users_name_unique\` on \`users\` (\`name\`);`);

    this.addSql(`create table \`memberships\` (\`id\` text not null, \`organisation_id\` text not null, \`user_id\` text not null, \`role\` text check (\`role\` in ('member', 'admin', 'owner')) not null, \`created_at\` datetime not null, constraint \`memberships_organisation_id_foreign\` foreign key(\`organisation_id\`) references \`organisations\`(\`id\`) on delete cascade on update cascade, constraint \`memberships_user_id_foreign\` foreign key(\`user_id\`) references \`users\`(\`id\`) on delete cascade on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`memberships_organisation_id_index\` on \`memberships\` (\`organisation_id\`);`);
    this.addSql(`create index \`memberships_user_id_index\` on \`memberships\` (\`user_id\`);`);
    this.addSql(`create unique index \`memberships_organisation_id_user_id_unique\` on \`memberships\` (\`organisation_id\`, \`user_id\`);`);

    this.addSql(`create table \`access_tokens\` (\`id\` text not null, \`user_id\` text not null, \`name\` text not null, \`token_hash\` text not null, \`hint\` text not null, \`created_at\` datetime not null, \`last_used_at\` datetime null, \`revoked_at\` datetime null, constraint \`access_tokens_user_id_foreign\` foreign key(\`user_id\`) references \`users\`(\`id\`) on delete cascade on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`access_tokens_user_id_index\` on \`access_tokens\` (\`user_id\`);`);
    this.addSql(`create unique index \`access_tokens_token_hash_unique\` on \`access_tokens\` (\`token_hash\`);`);
  }

}
