import { randomUUID } from 'node:crypto';
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Organisation } from '../organisations/organisation.entity.js';

/** A channel. Its id is a random UUID because the webhook URL built from it is a capability. */
export const Channel = defineEntity({
  name: 'Channel',
  tableName: 'channels',
  indexes: [{ properties: ['organisation', 'createdAt', 'id'] }],
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    name: p.string(),
    description: p.text().default(''),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type Channel = InferEntity<typeof Channel>;
