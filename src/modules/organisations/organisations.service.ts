import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import type { Scope } from '../../context.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors.js';
import { parseInput } from '../../validation.js';
import { findUser, isUuid, requireViewer } from '../auth/auth.service.js';
import type { User } from '../auth/user.entity.js';
import { Membership, ROLES, type Role } from './membership.entity.js';
import { Organisation } from './organisation.entity.js';

const rank = (role: Role) => ROLES.indexOf(role);

/**
 * The organisation, if the viewer is a member with at least `minRole`. Not a member (or no such
 * organisation, or not even a UUID) answers NotFound: ids of other organisations reveal nothing.
 */
export async function requireMembership(scope: Scope, organisationId: string, minRole: Role = 'member') {
  const viewer = requireViewer(scope);
  const membership = isUuid(organisationId)
    ? await scope.em.findOne(Membership, { organisation: organisationId, user: viewer }, { populate: ['organisation'] })
    : null;
  if (!membership) throw new NotFoundError('organisation', organisationId);
  if (rank(membership.role) < rank(minRole)) {
    throw new ForbiddenError(`this needs the ${minRole} role in the organisation; you are ${membership.role}`);
  }
  return membership.organisation;
}

/** Organisation ids the viewer belongs to (for filtering lists without one query per row). */
export async function memberOrganisationIds(em: EntityManager, user: User): Promise<string[]> {
  const rows = await em.find(Membership, { user }, { fields: ['organisation'] });
  return rows.map((m) => m.organisation.id);
}

const NameInput = z.object({ name: z.string().trim().min(1, 'name is required').max(200, 'name is at most 200 characters') });

export async function createOrganisation(scope: Scope, input: z.input<typeof NameInput>) {
  const viewer = requireViewer(scope);
  const { name } = parseInput(NameInput, input);
  const organisation = scope.em.create(Organisation, { name });
  scope.em.create(Membership, { organisation, user: viewer, role: 'owner' });
  await scope.em.flush();
  return organisation;
}

/** Renaming is an owner's act. */
export async function renameOrganisation(scope: Scope, input: { id: string; name: string }) {
  const organisation = await requireMembership(scope, input.id, 'owner');
  organisation.name = parseInput(NameInput, input).name;
  await scope.em.flush();
  return organisation;
}

/** The viewer's memberships (organisation reference and role), oldest first, in one query. */
export async function listMyMemberships(scope: Scope) {
  const viewer = requireViewer(scope);
  return scope.em.find(Membership, { user: viewer }, { orderBy: { createdAt: 'asc' } });
}

export async function listMyOrganisations(scope: Scope) {
  const viewer = requireViewer(scope);
  const memberships = await scope.em.find(Membership, { user: viewer }, { populate: ['organisation'], orderBy: { createdAt: 'asc' } });
  return memberships.map((m) => m.organisation);
}

/** The organisation, or null when it does not exist or the viewer is not a member. */
export async function findOrganisation(scope: Scope, id: string) {
  try {
    return await requireMembership(scope, id);
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
}

export async function viewerRole(scope: Scope, organisationId: string): Promise<Role | null> {
  const viewer = requireViewer(scope);
  const m = await scope.em.findOne(Membership, { organisation: organisationId, user: viewer });
  return m?.role ?? null;
}

export async function listMembers(scope: Scope, organisationId: string) {
  await requireMembership(scope, organisationId);
  return scope.em.find(Membership, { organisation: organisationId }, { populate: ['user'], orderBy: { createdAt: 'asc' } });
}

const MemberInput = z.object({
  organisationId: z.string(),
  user: z.string().trim().min(1, 'user is required'),
  role: z.enum(ROLES, { message: `role must be one of ${ROLES.join(', ')}` }),
});

/**
 * Add a user (by id or name) or change their role. Owners manage owners: giving the owner role and changing
 * an owner's role need the owner role; admins manage members and admins.
 */
export async function setMember(scope: Scope, input: z.input<typeof MemberInput>) {
  const data = parseInput(MemberInput, input);
  const organisation = await requireMembership(scope, data.organisationId, data.role === 'owner' ? 'owner' : 'admin');
  const user = await findUser(scope.em, data.user);
  if (!user) throw new ValidationError('user', `no user "${data.user}"`);
  let membership = await scope.em.findOne(Membership, { organisation, user });
  if (membership?.role === 'owner' && data.role !== 'owner') {
    await requireMembership(scope, organisation.id, 'owner');
    await assertAnotherOwner(scope, organisation.id, 'role');
  }
  if (membership) membership.role = data.role;
  else membership = scope.em.create(Membership, { organisation, user, role: data.role });
  await scope.em.flush();
  return membership;
}

export async function removeMember(scope: Scope, input: { organisationId: string; user: string }) {
  const organisation = await requireMembership(scope, input.organisationId, 'admin');
  const user = await findUser(scope.em, input.user);
  const membership = user ? await scope.em.findOne(Membership, { organisation, user }) : null;
  if (!membership) throw new NotFoundError('member', input.user);
  if (membership.role === 'owner') {
    await requireMembership(scope, organisation.id, 'owner');
    await assertAnotherOwner(scope, organisation.id, 'user');
  }
  await scope.em.remove(membership).flush();
  return membership;
}

async function assertAnotherOwner(scope: Scope, organisationId: string, field: string) {
  const owners = await scope.em.count(Membership, { organisation: organisationId, role: 'owner' });
  if (owners < 2) throw new ConflictError('an organisation must keep at least one owner', field);
}
