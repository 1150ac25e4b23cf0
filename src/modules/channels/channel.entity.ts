import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { uuidId, timestamps } from '../../infra/columns.js';
import { Organisation } from '../organisations/organisation.entity.js';

/** A channel. Its id is a random UUID because the webhook URL built from it is a capability. */
export const Channel = defineEntity({
  name: 'Channel',
  tableName: 'channels',
  indexes: [{ properties: ['organisation', 'createdAt', 'id'] }],
  properties: {
    id: uuidId(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    name: p.string(),
    description: p.text().default(''),
    ...timestamps(),
  },
});
export type Channel = InferEntity<typeof Channel>;
