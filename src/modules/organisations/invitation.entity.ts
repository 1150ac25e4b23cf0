import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { uuidId, createdAt } from '../../infra/columns.js';
import { User } from '../auth/user.entity.js';
import { ROLES } from './membership.entity.js';
import { Organisation } from './organisation.entity.js';

/**
 * An invitation to join an organisation, addressed to a user name or user id exactly as the inviter typed it.
 * Nothing is looked up when it is made, so it is made alike for every name (and reveals nothing about anyone);
 * the user with that name or id sees it (`viewer.invitations`) and accepts or declines it. A decline is kept
 * (`declinedAt`) so that the organisation cannot tell it from an invitation still waiting.
 */
export const Invitation = defineEntity({
  name: 'Invitation',
  tableName: 'invitations',
  uniques: [{ properties: ['organisation', 'invitee'] }],
  properties: {
    id: uuidId(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    /** The user name or user id the invitation is addressed to, as given (trimmed). */
    invitee: p.string().index(),
    role: p.enum([...ROLES]),
    invitedBy: p.manyToOne(User).deleteRule('set null').nullable(),
    createdAt: createdAt(),
    expiresAt: p.datetime(),
    declinedAt: p.datetime().nullable(),
  },
});
export type Invitation = InferEntity<typeof Invitation>;
