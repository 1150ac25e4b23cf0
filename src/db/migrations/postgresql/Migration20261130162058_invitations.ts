import { Migration } from '@mikro-orm/migrations';

export class Migration20261130162058_invitations extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "invitations" ("id" uuid not null, "organisation_id" uuid not null, "invitee" varchar(255) not null, "role" text check ("role" in ('member', 'admin', 'owner')) not null, "invited_by_id" uuid null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "declined_at" timestamptz null, constraint "invitations_pkey" primary key ("id"));`);
    this.addSql(`create index "invitations_invitee_index" on "invitations" ("invitee");`);
    this.addSql(`alter table "invitations" add constraint "invitations_organisation_id_invitee_unique" unique ("organisation_id", "invitee");`);

    this.addSql(`alter table "invitations" add constraint "invitations_organisation_id_foreign" foreign key ("organisation_id") references "organisations" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "invitations" add constraint "invitations_invited_by_id_foreign" foreign key ("invited_by_id") references "users" ("id") on update cascade on delete set null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "invitations" cascade;`);
  }

}
