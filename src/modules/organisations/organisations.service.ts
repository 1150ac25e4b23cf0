import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import type { Scope } from '../../context.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors.js';
import { parseInput } from '../../validation.js';
import { findUser, isUuid, requireViewer } from '../auth/auth.service.js';
import type { User } from '../auth/user.entity.js';
import { Invitation } from './invitation.entity.js';
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
  // A subscription opened with this scope lives by this membership: removing it ends the subscription.
  scope.deps.liveAccess.tie(scope, membership.organisation.id);
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

/** The member of `organisation` with this user id or user name, or null: looks at members only, never at other users. */
function findMember(scope: Scope, organisation: Organisation, idOrName: string) {
  return scope.em.findOne(Membership, { organisation, user: isUuid(idOrName) ? { id: idOrName } : { name: idOrName } }, { populate: ['user'] });
}

/**
 * Change a member's role (by user id or name). Owners manage owners: giving the owner role and changing an owner's
 * role need the owner role; admins manage members and admins. Someone who is not a member answers NotFoundError
 * whether or not the name exists: joining is an invitation the invitee accepts (inviteMember). Gateway
 * administrators, who create users and see them all, may add a user directly.
 */
export async function setMember(scope: Scope, input: z.input<typeof MemberInput>) {
  const data = parseInput(MemberInput, input);
  const organisation = await requireMembership(scope, data.organisationId, data.role === 'owner' ? 'owner' : 'admin');
  let membership = await findMember(scope, organisation, data.user);
  if (!membership) {
    if (!scope.viewer?.isAdmin) throw new NotFoundError('member', data.user);
    const user = await findUser(scope.em, data.user);
    if (!user) throw new ValidationError('user', `no user "${data.user}"`);
    membership = scope.em.create(Membership, { organisation, user, role: data.role });
  } else {
    if (membership.role === 'owner' && data.role !== 'owner') {
      await requireMembership(scope, organisation.id, 'owner');
      await assertAnotherOwner(scope, organisation.id, 'role');
    }
    membership.role = data.role;
  }
  await scope.em.flush();
  return membership;
}

export async function removeMember(scope: Scope, input: { organisationId: string; user: string }) {
  const organisation = await requireMembership(scope, input.organisationId, 'admin');
  // Looked up among the members only: a name that is nobody's and one that is not a member's answer alike.
  const membership = await findMember(scope, organisation, input.user);
  if (!membership) throw new NotFoundError('member', input.user);
  const { user } = membership;
  if (membership.role === 'owner') {
    await requireMembership(scope, organisation.id, 'owner');
    await assertAnotherOwner(scope, organisation.id, 'user');
  }
  await scope.em.remove(membership).flush();
  // Their subscriptions of this organisation end at once on every replica; integrations they created react.
  scope.deps.liveAccess.revoke({ userId: user.id, organisationId: organisation.id });
  await scope.deps.hooks.emit('member.removed', { organisationId: organisation.id, userId: user.id, removedBy: scope.viewer!.id });
  return membership;
}

async function assertAnotherOwner(scope: Scope, organisationId: string, field: string) {
  const owners = await scope.em.count(Membership, { organisation: organisationId, role: 'owner' });
  if (owners < 2) throw new ConflictError('an organisation must keep at least one owner', field);
}

// ---------------------------------------------------------------------------------------------------
// Invitations: how someone joins an organisation

/** How long an invitation waits for its invitee. */
export const INVITATION_TTL_MS = 14 * 24 * 60 * 60 * 1000;

const InviteInput = z.object({
  organisationId: z.string(),
  user: z.string().trim().min(1, 'user is required').max(100, 'user is at most 100 characters'),
  role: z.enum(ROLES, { message: `role must be one of ${ROLES.join(', ')}` }),
});

/** Invitations in force: not past their expiry. */
const inForce = () => ({ expiresAt: { $gt: new Date() } });

/**
 * Invite a user, by user name or user id, to join with a role (admins invite members and admins, owners also
 * owners). Nothing about the name is looked up: the answer is the same invitation whether or not such a user
 * exists, so inviting reveals nothing. Inviting the same name again renews the invitation (new role, new expiry).
 * A name that is already a member's is a ConflictError (members are visible to the organisation anyway).
 */
export async function inviteMember(scope: Scope, input: z.input<typeof InviteInput>) {
  const viewer = requireViewer(scope);
  const data = parseInput(InviteInput, input);
  const organisation = await requireMembership(scope, data.organisationId, data.role === 'owner' ? 'owner' : 'admin');
  if (await findMember(scope, organisation, data.user)) throw new ConflictError(`"${data.user}" is already a member: change their role with setMember`, 'user');
  const expiresAt = new Date(Date.now() + INVITATION_TTL_MS);
  let invitation = await scope.em.findOne(Invitation, { organisation, invitee: data.user });
  if (invitation) Object.assign(invitation, { role: data.role, invitedBy: viewer, createdAt: new Date(), expiresAt, declinedAt: null });
  else invitation = scope.em.create(Invitation, { organisation, invitee: data.user, role: data.role, invitedBy: viewer, expiresAt, declinedAt: null });
  await scope.em.flush();
  return invitation;
}

/** The organisation's invitations not yet accepted and in force (declined ones included: the organisation is not told). Admins. */
export async function listInvitations(scope: Scope, organisationId: string) {
  const organisation = await requireMembership(scope, organisationId, 'admin');
  return scope.em.find(Invitation, { organisation, ...inForce() }, { populate: ['organisation', 'invitedBy'], orderBy: { createdAt: 'asc' } });
}

/** Take back an invitation (admins; one to the owner role needs an owner). Outsiders get NotFoundError. */
export async function cancelInvitation(scope: Scope, id: string) {
  requireViewer(scope);
  const invitation = isUuid(id) ? await scope.em.findOne(Invitation, { id }, { populate: ['organisation', 'invitedBy'] }) : null;
  if (!invitation) throw new NotFoundError('invitation', id);
  try {
    await requireMembership(scope, invitation.organisation.id, invitation.role === 'owner' ? 'owner' : 'admin');
  } catch (error) {
    if (error instanceof NotFoundError) throw new NotFoundError('invitation', id);
    throw error;
  }
  await scope.em.remove(invitation).flush();
  return invitation;
}

/** The viewer's own invitations: addressed to their user name or id, in force, not declined. */
export async function listMyInvitations(scope: Scope) {
  const viewer = requireViewer(scope);
  return scope.em.find(
    Invitation,
    { invitee: { $in: [viewer.name, viewer.id] }, declinedAt: null, ...inForce() },
    { populate: ['organisation', 'invitedBy'], orderBy: { createdAt: 'asc' } },
  );
}

async function requireMyInvitation(scope: Scope, id: string) {
  const viewer = requireViewer(scope);
  const invitation = isUuid(id)
    ? await scope.em.findOne(Invitation, { id, invitee: { $in: [viewer.name, viewer.id] }, declinedAt: null, ...inForce() }, { populate: ['organisation', 'invitedBy'] })
    : null;
  if (!invitation) throw new NotFoundError('invitation', id);
  return { viewer, invitation };
}

/** Accept one of your invitations: you join with its role (a member already keeps their role), and it is used up. */
export async function acceptInvitation(scope: Scope, id: string) {
  const { viewer, invitation } = await requireMyInvitation(scope, id);
  let membership = await scope.em.findOne(Membership, { organisation: invitation.organisation, user: viewer });
  membership ??= scope.em.create(Membership, { organisation: invitation.organisation, user: viewer, role: invitation.role });
  scope.em.remove(invitation);
  await scope.em.flush();
  return membership;
}

/** Decline one of your invitations: it leaves your list; the organisation sees it waiting until it expires. */
export async function declineInvitation(scope: Scope, id: string) {
  const { invitation } = await requireMyInvitation(scope, id);
  invitation.declinedAt = new Date();
  await scope.em.flush();
  return invitation;
}
