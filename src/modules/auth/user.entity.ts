import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { uuidId, createdAt } from '../../infra/columns.js';

export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: uuidId(),
    name: p.string().unique(),
    email: p.string().nullable(),
    /** Operators: may create users and see the job dashboard. */
    isAdmin: p.boolean().default(false),
    createdAt: createdAt(),
  },
});
export type User = InferEntity<typeof User>;
