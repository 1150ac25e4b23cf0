import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { uuidId, timestamps } from '../../infra/columns.js';

export const Organisation = defineEntity({
  name: 'Organisation',
  tableName: 'organisations',
  properties: {
    id: uuidId(),
    name: p.string(),
    ...timestamps(),
  },
});
export type Organisation = InferEntity<typeof Organisation>;
