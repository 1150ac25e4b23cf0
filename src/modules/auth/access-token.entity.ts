import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { uuidId, createdAt } from '../../infra/columns.js';
import { User } from './user.entity.js';

/** A personal access token. Only its SHA-256 is stored; the token itself is shown once. */
export const AccessToken = defineEntity({
  name: 'AccessToken',
  tableName: 'access_tokens',
  properties: {
    id: uuidId(),
    user: p.manyToOne(User).deleteRule('cascade'),
    name: p.string(),
    tokenHash: p.string().unique(),
    /** The last characters, so a user can tell their tokens apart. */
    hint: p.string(),
    createdAt: createdAt(),
    lastUsedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    /** After this instant the token is refused everywhere, and what it opened ends; null: it never expires. */
    expiresAt: p.datetime().nullable(),
  },
});
export type AccessToken = InferEntity<typeof AccessToken>;
