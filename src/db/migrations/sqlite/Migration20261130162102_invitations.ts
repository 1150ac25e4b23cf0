import { Migration } from '@mikro-orm/migrations';

export class Migration20261130162102_invitations extends Migration {

  override async up(): Promise<void> {
    this.addSql("create table `invitations` (`id` text not null, `organisation_id` text not null, `invitee` text not null, `role` text check (`role` in ('member', 'admin', 'owner')) not null, `invited_by_id` text null, `created_at` datetime not null, `expires_at` datetime not null, `declined_at` datetime null, constraint `invitations_organisation_id_foreign` foreign key(`organisation_id`) references `organisations`(`id`) on delete cascade on update cascade, constraint `invitations_invited_by_id_foreign` foreign key(`invited_by_id`) references `users`(`id`) on delete set null on update cascade, primary key (`id`));");
    this.addSql("create index `invitations_organisation_id_index` on `invitations` (`organisation_id`);");
    this.addSql("create index `invitations_invitee_index` on `invitations` (`invitee`);");
    this.addSql("create index `invitations_invited_by_id_index` on `invitations` (`invited_by_id`);");
    this.addSql("create unique index `invitations_organisation_id_invitee_unique` on `invitations` (`organisation_id`, `invitee`);");
  }

  override async down(): Promise<void> {
    this.addSql("drop table if exists `invitations`;");
  }

}
