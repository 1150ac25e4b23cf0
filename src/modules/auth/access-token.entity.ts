import { randomUUID } from 'node:crypto';
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { User } from './user.entity.js';

/** A personal access token. Only its SHA-256 is stored; the token itself is shown once. */
export const AccessToken = defineEntity({
  name: 'AccessToken',
  tableName: 'access_tokens',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    user: p.manyToOne(User).deleteRule('cascade'),
    name: p.string(),
    tokenHash: p.string().unique(),
    /** The last characters, so a user can tell their tokens apart. */
    hint: p.string(),
    createdAt: p.datetime().onCreate(() => new Date()),
    lastUsedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});
export type AccessToken = InferEntity<typeof AccessToken>;
