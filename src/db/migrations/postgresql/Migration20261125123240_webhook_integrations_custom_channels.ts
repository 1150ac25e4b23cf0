import { Migration } from '@mikro-orm/migrations';

export class Migration20261125123240_webhook_integrations_custom_channels extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "custom_channel_connections" ("id" uuid not null, "organisation_id" uuid not null, "channel_id" uuid not null, "base_url" text not null, "token_hash" varchar(255) not null, "token_cipher" text not null, "token_hint" varchar(255) not null, "default_contact_id" varchar(255) null, "last_contact_id" varchar(255) null, "created_by_id" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "custom_channel_connections_pkey" primary key ("id"));`);
    this.addSql(`alter table "custom_channel_connections" add constraint "custom_channel_connections_channel_id_unique" unique ("channel_id");`);
    this.addSql(`alter table "custom_channel_connections" add constraint "custom_channel_connections_token_hash_unique" unique ("token_hash");`);

    this.addSql(`create table "webhook_integrations" ("id" uuid not null, "organisation_id" uuid not null, "type" text check ("type" in ('webhook-incoming', 'webhook-outgoing')) not null, "name" varchar(255) not null, "enabled" boolean not null, "username" varchar(255) not null, "channels" jsonb not null, "alias" varchar(255) null, "avatar" text null, "emoji" varchar(255) null, "script_enabled" boolean not null, "script" text null, "token_hash" varchar(255) null, "outgoing_token" text null, "event" varchar(255) null, "urls" jsonb not null, "trigger_words" jsonb not null, "trigger_word_anywhere" boolean not null default false, "retry_failed_calls" boolean not null default true, "retry_count" int not null default 6, "retry_delay" varchar(255) not null default 'powers-of-ten', "created_by_id" uuid null, "updated_by_id" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "webhook_integrations_pkey" primary key ("id"));`);
    this.addSql(`alter table "webhook_integrations" add constraint "webhook_integrations_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "webhook_integrations_organisation_id_type_index" on "webhook_integrations" ("organisation_id", "type");`);

    this.addSql(`create table "webhook_integration_history" ("id" varchar(26) not null, "integration_id" uuid not null, "organisation_id" uuid not null, "type" varchar(255) not null, "step" varchar(255) not null, "event" varchar(255) null, "trigger_word" varchar(255) null, "url" text null, "data" jsonb null, "ran_prepare_script" boolean not null default false, "finished" boolean not null default false, "error" boolean not null default false, "error_message" text null, "script_logs" jsonb null, "http_call_data" jsonb null, "http_status" int null, "http_result" text null, "http_error" text null, "delivery_id" varchar(255) null, "message_id" varchar(255) null, "posted_message_ids" jsonb null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "webhook_integration_history_pkey" primary key ("id"));`);
    this.addSql(`create index "webhook_integration_history_integration_id_id_index" on "webhook_integration_history" ("integration_id", "id");`);

    this.addSql(`alter table "custom_channel_connections" add constraint "custom_channel_connections_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "custom_channel_connections" add constraint "custom_channel_connections_channel_id_foreign" foreign key ("channel_id") references "channels" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "custom_channel_connections" add constraint "custom_channel_connections_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "webhook_integrations" add constraint "webhook_integrations_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "webhook_integrations" add constraint "webhook_integrations_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "webhook_integrations" add constraint "webhook_integrations_updated_by_id_foreign" foreign key ("updated_by_id") references "users" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "webhook_integration_history" add constraint "webhook_integration_history_integration_id_foreign" foreign key ("integration_id") references "webhook_integrations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "webhook_integration_history" add constraint "webhook_integration_history_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "webhook_integration_history" drop constraint "webhook_integration_history_integration_id_foreign";`);

    this.addSql(`drop table if exists "custom_channel_connections" cascade;`);

    this.addSql(`drop table if exists "webhook_integrations" cascade;`);

    this.addSql(`drop table if exists "webhook_integration_history" cascade;`);
  }

}
