import { Migration } from '@mikro-orm/migrations';

export class Migration20261125122836_messages_deliveries extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`messages\` (\`id\` text not null, \`channel_id\` text not null, \`organisation_id\` text not null, \`event_name\` text not null default '', \`username\` text not null default '', \`status\` text not null default '', \`message\` text not null, \`payload\` json null, \`source\` text not null, \`user_id\` text null, \`modifiers_applied\` json not null, \`created_at\` datetime not null, constraint \`messages_channel_id_foreign\` foreign key(\`channel_id\`) references \`channels\`(\`id\`) on delete cascade on update cascade, constraint \`messages_organisation_id_foreign\` foreign key(\`organisation_id\`) references \`organisations\`(\`id\`) on delete cascade on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`messages_organisation_id_index\` on \`messages\` (\`organisation_id\`);`);
    this.addSql(`create index \`messages_channel_id_id_index\` on \`messages\` (\`channel_id\`, \`id\`);`);

    this.addSql(`create table \`deliveries\` (\`id\` text not null, \`organisation_id\` text not null, \`channel_id\` text null, \`kind\` text not null, \`target_id\` text null, \`url\` text not null, \`method\` text not null default 'POST', \`body\` json null, \`headers\` json null, \`attempt\` integer not null default 1, \`retry\` json not null, \`status\` text check (\`status\` in ('pending', 'succeeded', 'failed', 'retried')) not null, \`status_code\` integer null, \`latency_ms\` integer null, \`error\` text null, \`response\` text null, \`next_attempt_at\` datetime null, \`locked_by\` text null, \`locked_until\` datetime null, \`message_id\` text null, \`created_at\` datetime not null, \`updated_at\` datetime not null, constraint \`deliveries_organisation_id_foreign\` foreign key(\`organisation_id\`) references \`organisations\`(\`id\`) on delete cascade on update cascade, constraint \`deliveries_channel_id_foreign\` foreign key(\`channel_id\`) references \`channels\`(\`id\`) on delete cascade on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`deliveries_organisation_id_index\` on \`deliveries\` (\`organisation_id\`);`);
    this.addSql(`create index \`deliveries_channel_id_id_index\` on \`deliveries\` (\`channel_id\`, \`id\`);`);
    this.addSql(`create index \`deliveries_status_next_attempt_at_index\` on \`deliveries\` (\`status\`, \`next_attempt_at\`);`);
    this.addSql(`create index \`deliveries_message_id_index\` on \`deliveries\` (\`message_id\`);`);

  }

}
