import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { uuidId, createdAt } from '../../infra/columns.js';
import { User } from '../auth/user.entity.js';
import { Organisation } from './organisation.entity.js';

export const ROLES = ['member', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

export const Membership = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  uniques: [{ properties: ['organisation', 'user'] }],
  properties: {
    id: uuidId(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    user: p.manyToOne(User).deleteRule('cascade').index(),
    role: p.enum([...ROLES]),
    createdAt: createdAt(),
  },
});
export type Membership = InferEntity<typeof Membership>;
