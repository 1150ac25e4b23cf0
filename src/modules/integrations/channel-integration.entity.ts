import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { uuidId, createdAt } from '../../infra/columns.js';
import { Channel } from '../channels/channel.entity.js';
import { Integration } from './integration.entity.js';

/** An integration switched on for a channel; modifiers chain in ascending `position`. */
export const ChannelIntegration = defineEntity({
  name: 'ChannelIntegration',
  tableName: 'channel_integrations',
  uniques: [{ properties: ['channel', 'integration'] }],
  properties: {
    id: uuidId(),
    channel: p.manyToOne(Channel).deleteRule('cascade'),
    integration: p.manyToOne(Integration).deleteRule('cascade').index(),
    position: p.integer().default(0),
    createdAt: createdAt(),
  },
});
export type ChannelIntegration = InferEntity<typeof ChannelIntegration>;
