import { randomUUID } from 'node:crypto';
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Channel } from '../channels/channel.entity.js';
import { Integration } from './integration.entity.js';

/** An integration switched on for a channel; modifiers chain in ascending `position`. */
export const ChannelIntegration = defineEntity({
  name: 'ChannelIntegration',
  tableName: 'channel_integrations',
  uniques: [{ properties: ['channel', 'integration'] }],
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    channel: p.manyToOne(Channel).deleteRule('cascade'),
    integration: p.manyToOne(Integration).deleteRule('cascade').index(),
    position: p.integer().default(0),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type ChannelIntegration = InferEntity<typeof ChannelIntegration>;
