import { randomUUID } from 'node:crypto';
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { User } from '../auth/user.entity.js';
import { Organisation } from './organisation.entity.js';

export const ROLES = ['member', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

export const Membership = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  uniques: [{ properties: ['organisation', 'user'] }],
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    user: p.manyToOne(User).deleteRule('cascade').index(),
    role: p.enum([...ROLES]),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type Membership = InferEntity<typeof Membership>;
