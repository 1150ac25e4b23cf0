import { Migration } from '@mikro-orm/migrations';

export class Migration20261125121821_initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "organisations" ("id" uuid not null, "name" varchar(255) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "organisations_pkey" primary key ("id"));`);

    this.addSql(`create table "integrations" ("id" uuid not null, "organisation_id" uuid not null, "name" varchar(255) not null, "json_url" text not null, "spec" jsonb not null, "app_name" varchar(255) not null, "app_description" text not null default '', "app_logo" text null, "app_url" text null, "background_color" varchar(255) null, "integration_type" text check ("integration_type" in ('modifier', 'interval', 'output')) not null, "integration_category" varchar(255) null, "target_url" text null, "tick_url" text null, "key_features" jsonb not null, "settings_schema" jsonb not null, "is_active" boolean not null default true, "is_system_integration" boolean not null default false, "auth_credential" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "integrations_pkey" primary key ("id"));`);
    this.addSql(`create index "integrations_organisation_id_integration_type_index" on "integrations" ("organisation_id", "integration_type");`);

    this.addSql(`create table "integration_settings" ("id" uuid not null, "organisation_id" uuid not null, "integration_id" uuid not null, "label" varchar(255) not null, "value" jsonb not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "integration_settings_pkey" primary key ("id"));`);
    this.addSql(`alter table "integration_settings" add constraint "integration_settings_integration_id_label_unique" unique ("integration_id", "label");`);

    this.addSql(`create table "channels" ("id" uuid not null, "organisation_id" uuid not null, "name" varchar(255) not null, "description" text not null default '', "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "channels_pkey" primary key ("id"));`);
    this.addSql(`create index "channels_organisation_id_created_at_id_index" on "channels" ("organisation_id", "created_at", "id");`);

    this.addSql(`create table "channel_integration_settings" ("id" uuid not null, "organisation_id" uuid not null, "integration_id" uuid not null, "channel_id" uuid not null, "label" varchar(255) not null, "value" jsonb not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "channel_integration_settings_pkey" primary key ("id"));`);
    this.addSql(`create index "channel_integration_settings_channel_id_index" on "channel_integration_settings" ("channel_id");`);
    this.addSql(`alter table "channel_integration_settings" add constraint "channel_integration_settings_integration_id_chann_8ddd5_unique" unique ("integration_id", "channel_id", "label");`);

    this.addSql(`create table "channel_integrations" ("id" uuid not null, "channel_id" uuid not null, "integration_id" uuid not null, "position" int not null default 0, "created_at" timestamptz not null, constraint "channel_integrations_pkey" primary key ("id"));`);
    this.addSql(`create index "channel_integrations_integration_id_index" on "channel_integrations" ("integration_id");`);
    this.addSql(`alter table "channel_integrations" add constraint "channel_integrations_channel_id_integration_id_unique" unique ("channel_id", "integration_id");`);

    this.addSql(`create table "users" ("id" uuid not null, "name" varchar(255) not null, "email" varchar(255) null, "is_admin" boolean not null default false, "created_at" timestamptz not null, constraint "users_pkey" primary key ("id"));`);
    this.addSql(`alter table "users" add constraint "users_name_unique" unique ("name");`);

    this.addSql(`create table "memberships" ("id" uuid not null, "organisation_id" uuid not null, "user_id" uuid not null, "role" text check ("role" in ('member', 'admin', 'owner')) not null, "created_at" timestamptz not null, constraint "memberships_pkey" primary key ("id"));`);
    this.addSql(`create index "memberships_user_id_index" on "memberships" ("user_id");`);
    this.addSql(`alter table "memberships" add constraint "memberships_organisation_id_user_id_unique" unique ("organisation_id", "user_id");`);

    this.addSql(`create table "access_tokens" ("id" uuid not null, "user_id" uuid not null, "name" varchar(255) not null, "token_hash" varchar(255) not null, "hint" varchar(255) not null, "created_at" timestamptz not null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, constraint "access_tokens_pkey" primary key ("id"));`);
    this.addSql(`alter table "access_tokens" add constraint "access_tokens_token_hash_unique" unique ("token_hash");`);

    this.addSql(`alter table "integrations" add constraint "integrations_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "integration_settings" add constraint "integration_settings_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "integration_settings" add constraint "integration_settings_integration_id_foreign" foreign key ("integration_id") references "integrations" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "channels" add constraint "channels_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "channel_integration_settings" add constraint "channel_integration_settings_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "channel_integration_settings" add constraint "channel_integration_settings_integration_id_foreign" foreign key ("integration_id") references "integrations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "channel_integration_settings" add constraint "channel_integration_settings_channel_id_foreign" foreign key ("channel_id") references "channels" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "channel_integrations" add constraint "channel_integrations_channel_id_foreign" foreign key ("channel_id") references "channels" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "channel_integrations" add constraint "channel_integrations_integration_id_foreign" foreign key ("integration_id") references "integrations" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "memberships" add constraint "memberships_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "memberships" add constraint "memberships_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "access_tokens" add constraint "access_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "integrations" drop constraint "integrations_organisation_id_foreign";`);

    this.addSql(`alter table "integration_settings" drop constraint "integration_settings_organisation_id_foreign";`);

    this.addSql(`alter table "channels" drop constraint "channels_organisation_id_foreign";`);

    this.addSql(`alter table "channel_integration_settings" drop constraint "channel_integration_settings_organisation_id_foreign";`);

    this.addSql(`alter table "memberships" drop constraint "memberships_organisation_id_foreign";`);

    this.addSql(`alter table "integration_settings" drop constraint "integration_settings_integration_id_foreign";`);

    this.addSql(`alter table "channel_integration_settings" drop constraint "channel_integration_settings_integration_id_foreign";`);

    this.addSql(`alter table "channel_integrations" drop constraint "channel_integrations_integration_id_foreign";`);

    this.addSql(`alter table "channel_integration_settings" drop constraint "channel_integration_settings_channel_id_foreign";`);

    this.addSql(`alter table "channel_integrations" drop constraint "channel_integrations_channel_id_foreign";`);

    this.addSql(`alter table "memberships" drop constraint "memberships_user_id_foreign";`);

    this.addSql(`alter table "access_tokens" drop constraint "access_tokens_user_id_foreign";`);

    this.addSql(`drop table if exists "organisations" cascade;`);

    this.addSql(`drop table if exists "integrations" cascade;`);

    this.addSql(`drop table if exists "integration_settings" cascade;`);

    this.addSql(`drop table if exists "channels" cascade;`);

    this.addSql(`drop table if exists "channel_integration_settings" cascade;`);

    this.addSql(`drop table if exists "channel_integrations" cascade;`);

    this.addSql(`drop table if exists "users" cascade;`);

    this.addSql(`drop table if exists "memberships" cascade;`);

    this.addSql(`drop table if exists "access_tokens" cascade;`);
  }

}
