import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { uuidId, timestamps } from '../../infra/columns.js';
import { User } from '../auth/user.entity.js';
import { Channel } from '../channels/channel.entity.js';
import { Organisation } from '../organisations/organisation.entity.js';

/**
 * A channel's connection to a respond.io-style custom-channel server. The API token authenticates both
 * directions: the server sends it on inbound pushes (matched by its SHA-256), Switchboard sends it on
 * outbound calls (so it is also kept encrypted).
 */
export const CustomChannelConnection = defineEntity({
  name: 'CustomChannelConnection',
  tableName: 'custom_channel_connections',
  properties: {
    id: uuidId(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    channel: p.manyToOne(Channel).deleteRule('cascade').unique(),
    baseUrl: p.text(),
    tokenHash: p.string().unique(),
    tokenCipher: p.text(),
    tokenHint: p.string(),
    /** Who outbound messages go to when a message names no contact and no contact has written yet. */
    defaultContactId: p.string().nullable(),
    /** The contact that wrote last: outbound replies go to it. */
    lastContactId: p.string().nullable(),
    createdBy: p.manyToOne(User).deleteRule('set null').nullable(),
    ...timestamps(),
  },
});
export type CustomChannelConnection = InferEntity<typeof CustomChannelConnection>;
