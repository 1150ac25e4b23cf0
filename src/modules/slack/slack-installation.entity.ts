import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { uuidId, timestamps } from '../../infra/columns.js';
import { User } from '../auth/user.entity.js';
import { Organisation } from '../organisations/organisation.entity.js';

/**
 * The Slack app installed for an organisation (one per organisation): what Slack's `oauth.v2.access`
 * answered. The access token and the incoming-webhook URL (itself a capability) are encrypted at rest.
 */
export const SlackInstallation = defineEntity({
  name: 'SlackInstallation',
  tableName: 'slack_installations',
  properties: {
    id: uuidId(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade').unique(),
    /** Who exchanged the code; kept if that user goes away. */
    user: p.manyToOne(User).deleteRule('set null').nullable(),
    /** Encrypted (src/infra/crypto.ts); shown back masked. */
    accessToken: p.text(),
    tokenType: p.string().nullable(),
    scope: p.text().nullable(),
    botUserId: p.string().nullable(),
    appId: p.string().nullable(),
    teamId: p.string().nullable(),
    teamName: p.string().nullable(),
    channel: p.string().nullable(),
    channelId: p.string().nullable(),
    configurationUrl: p.text().nullable(),
    /** Encrypted incoming-webhook URL. */
    webhookUrl: p.text().nullable(),
    ...timestamps(),
  },
});
export type SlackInstallation = InferEntity<typeof SlackInstallation>;
