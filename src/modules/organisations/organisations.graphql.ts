import { builder } from '../../graphql/builder.js';
import { mutationResult } from '../../graphql/errors.js';
import { UserRef } from '../auth/auth.graphql.js';
import type { Invitation } from './invitation.entity.js';
import { ROLES, type Membership } from './membership.entity.js';
import type { Organisation } from './organisation.entity.js';
import {
  acceptInvitation,
  cancelInvitation,
  declineInvitation,
  inviteMember,
  listInvitations,
  listMyInvitations,
  createOrganisation,
  findOrganisation,
  listMembers,
  listMyOrganisations,
  removeMember,
  renameOrganisation,
  setMember,
  viewerRole,
} from './organisations.service.js';

/** The stored roles in capitals (typed against ROLES, so a new role needs its description here). */
const ROLE_VALUES: Record<Uppercase<(typeof ROLES)[number]>, { description: string }> = {
  MEMBER: { description: 'Reads the organisation, its channels, integrations and messages, and sends messages.' },
  ADMIN: { description: 'Also manages channels, integrations, settings, and members and admins (never owners).' },
  OWNER: { description: 'Also renames the organisation, and makes, demotes and removes owners. An organisation always keeps at least one.' },
};
export const RoleEnum = builder.enumType('Role', {
  description: "A member's role in an organisation; each role can do what the ones before it can.",
  values: ROLE_VALUES,
});
const toRole = (r: string) => r.toLowerCase() as Membership['role'];

export const OrganisationRef = builder.objectRef<Organisation>('Organisation').implement({
  description: 'A tenant: it owns channels and integrations, and its members act on them by role. Only members can see it.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The UUID of the organisation (`org_id` / `organisationId` on REST).' }),
    name: t.exposeString('name', { description: 'Its display name, 1 to 200 characters.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it was last changed (renamed).' }),
    viewerRole: t.field({
      type: RoleEnum,
      description: 'Your role in this organisation.',
      resolve: async (org, _args, ctx) => (await viewerRole(ctx, org.id))!.toUpperCase() as 'MEMBER',
    }),
    members: t.field({ type: [MembershipRef], description: 'Every member with their role, longest-standing first.', resolve: (org, _args, ctx) => listMembers(ctx, org.id) }),
    invitations: t.field({
      type: [InvitationRef],
      nullable: true,
      description:
        'Invitations not yet accepted and not expired, oldest first: admins and owners only (null for members). A declined invitation stays listed until it expires: the organisation is never told whether a name exists or whether its invitee declined.',
      resolve: async (org, _args, ctx) => ((await viewerRole(ctx, org.id)) === 'member' ? null : listInvitations(ctx, org.id)),
    }),
  }),
});

export const InvitationRef = builder.objectRef<Invitation>('Invitation').implement({
  description:
    'An invitation to join an organisation, addressed to a user name or user id as the inviter typed it. Its invitee sees it in `viewer.invitations` and accepts or declines it; admins of the organisation see it in `Organisation.invitations`.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The UUID of the invitation (pass it to `acceptInvitation`, `declineInvitation` or `cancelInvitation`).' }),
    organisationId: t.field({ type: 'ID', description: 'The UUID of the organisation it invites to.', resolve: (i) => i.organisation.id }),
    organisationName: t.field({ type: 'String', description: 'The name of that organisation, so the invitee knows what they are asked to join.', resolve: (i) => i.organisation.name }),
    invitee: t.exposeString('invitee', { description: 'The user name or user id it is addressed to, exactly as the inviter typed it.' }),
    role: t.field({ type: RoleEnum, description: 'The role the invitee gets on accepting.', resolve: (i) => i.role.toUpperCase() as 'MEMBER' }),
    invitedBy: t.field({ type: 'String', nullable: true, description: 'The user name of who invited (null when that user is gone).', resolve: (i) => i.invitedBy?.name ?? null }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was made (or last renewed by inviting the same name again).' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it lapses unless accepted: 14 days after it was made.' }),
  }),
});

builder.objectField(UserRef, 'invitations', (t) =>
  t.field({
    type: [InvitationRef],
    nullable: true,
    description: 'Your invitations waiting for an answer (addressed to your user name or id, not expired, not declined), oldest first; null for other users.',
    resolve: (user, _args, ctx) => (user.id === ctx.viewer?.id ? listMyInvitations(ctx) : null),
  }),
);

export const MembershipRef = builder.objectRef<Membership>('Membership').implement({
  description: "A user's membership of an organisation, with its role.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The UUID of the membership.' }),
    role: t.field({ type: RoleEnum, description: 'What the member may do in the organisation.', resolve: (m) => m.role.toUpperCase() as 'MEMBER' }),
    user: t.field({ type: UserRef, description: 'The member.', resolve: (m) => m.user }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the user joined the organisation.' }),
  }),
});

builder.queryFields((t) => ({
  organisations: t.field({ type: [OrganisationRef], description: 'Organisations you are a member of, in the order you joined them.', resolve: (_r, _a, ctx) => listMyOrganisations(ctx) }),
  organisation: t.field({
    type: OrganisationRef,
    nullable: true,
    description: 'One organisation; null when it does not exist or you are not a member of it.',
    args: { id: t.arg.id({ required: true, description: 'The UUID of the organisation.' }) },
    resolve: (_r, { id }, ctx) => findOrganisation(ctx, String(id)),
  }),
}));

builder.mutationFields((t) => ({
  createOrganisation: t.field({
    type: OrganisationRef,
    description: 'Create an organisation; you become its owner. Any authenticated user may.',
    errors: mutationResult('The new organisation.'),
    args: {
      input: t.arg({
        description: 'The new organisation.',
        type: builder.inputType('CreateOrganisationInput', {
          description: 'An organisation to create.',
          fields: (f) => ({ name: f.string({ required: true, description: 'Its display name, 1 to 200 characters (trimmed).' }) }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => createOrganisation(ctx, input),
  }),
  renameOrganisation: t.field({
    type: OrganisationRef,
    description: 'Rename an organisation. Needs the owner role (ForbiddenError otherwise).',
    errors: mutationResult('The renamed organisation.'),
    args: {
      input: t.arg({
        description: 'The organisation and its new name.',
        type: builder.inputType('RenameOrganisationInput', {
          description: 'A new name for an organisation.',
          fields: (f) => ({
            id: f.id({ required: true, description: 'The UUID of the organisation.' }),
            name: f.string({ required: true, description: 'The new name, 1 to 200 characters (trimmed).' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => renameOrganisation(ctx, { id: String(input.id), name: input.name }),
  }),
  setMember: t.field({
    type: MembershipRef,
    description:
      'Change a member\'s role (by user id or name). Admins manage members and admins; giving the owner role or changing an owner\'s role needs the owner role (ForbiddenError), and the last owner cannot be demoted (ConflictError on `role`). Someone who is not a member is a NotFoundError whether or not the name exists: people join by invitation (`inviteMember`). Gateway administrators may add a user directly (an unknown user is then a ValidationError on `user`).',
    errors: mutationResult('The membership as it now is.'),
    args: {
      input: t.arg({
        description: 'Who, where, and with which role.',
        type: builder.inputType('SetMemberInput', {
          description: "A user's role in an organisation.",
          fields: (f) => ({
            organisationId: f.id({ required: true, description: 'The UUID of the organisation.' }),
            user: f.string({ required: true, description: 'The member: a user UUID or user name.' }),
            role: f.field({ type: RoleEnum, required: true, description: 'The role to give.' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => setMember(ctx, { organisationId: String(input.organisationId), user: input.user, role: toRole(input.role) }),
  }),
  inviteMember: t.field({
    type: InvitationRef,
    description:
      'Invite a user, by user name or user id, to join an organisation with a role; they accept or decline it themselves. Admins invite members and admins, owners also owners (ForbiddenError). The answer is the same whether or not the name belongs to anyone: inviting reveals nothing about other users. A current member is a ConflictError on `user`. Inviting the same name again renews the invitation.',
    errors: mutationResult('The invitation, as the organisation sees it.'),
    args: {
      input: t.arg({
        description: 'Who is invited where, with which role.',
        type: builder.inputType('InviteMemberInput', {
          description: 'An invitation to make.',
          fields: (f) => ({
            organisationId: f.id({ required: true, description: 'The UUID of the organisation.' }),
            user: f.string({ required: true, description: 'The invitee: a user name or user UUID, 1 to 100 characters (trimmed).' }),
            role: f.field({ type: RoleEnum, required: true, description: 'The role they get on accepting.' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => inviteMember(ctx, { organisationId: String(input.organisationId), user: input.user, role: toRole(input.role) }),
  }),
  acceptInvitation: t.field({
    type: MembershipRef,
    description: 'Accept one of your invitations (`viewer.invitations`): you join the organisation with its role. NotFoundError for an invitation that is not yours, expired or declined.',
    errors: mutationResult('Your membership of the organisation.'),
    args: { input: t.arg({ description: 'The invitation to accept.', type: invitationInput('AcceptInvitationInput', 'An invitation of yours to accept.'), required: true }) },
    resolve: (_r, { input }, ctx) => acceptInvitation(ctx, String(input.id)),
  }),
  declineInvitation: t.field({
    type: InvitationRef,
    description: 'Decline one of your invitations: it leaves your list. The organisation is not told (it sees the invitation waiting until it expires). NotFoundError for one that is not yours.',
    errors: mutationResult('The declined invitation.'),
    args: { input: t.arg({ description: 'The invitation to decline.', type: invitationInput('DeclineInvitationInput', 'An invitation of yours to decline.'), required: true }) },
    resolve: (_r, { input }, ctx) => declineInvitation(ctx, String(input.id)),
  }),
  cancelInvitation: t.field({
    type: InvitationRef,
    description: 'Take back an invitation of your organisation (admins; one to the owner role needs an owner). NotFoundError for invitations of organisations you are not a member of.',
    errors: mutationResult('The cancelled invitation.'),
    args: { input: t.arg({ description: 'The invitation to cancel.', type: invitationInput('CancelInvitationInput', 'An invitation to take back.'), required: true }) },
    resolve: (_r, { input }, ctx) => cancelInvitation(ctx, String(input.id)),
  }),
  removeMember: t.field({
    type: MembershipRef,
    description: 'Remove a user from an organisation. Needs the admin role; removing an owner needs the owner role (ForbiddenError), and the last owner stays (ConflictError on `user`).',
    errors: mutationResult('The removed membership.'),
    args: {
      input: t.arg({
        description: 'Who leaves which organisation.',
        type: builder.inputType('RemoveMemberInput', {
          description: 'A member to remove.',
          fields: (f) => ({
            organisationId: f.id({ required: true, description: 'The UUID of the organisation.' }),
            user: f.string({ required: true, description: 'The member: a user UUID or user name (NotFoundError when not a member).' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => removeMember(ctx, { organisationId: String(input.organisationId), user: input.user }),
  }),
}));

function invitationInput(name: string, description: string) {
  return builder.inputType(name, {
    description,
    fields: (f) => ({ id: f.id({ required: true, description: 'The UUID of the invitation (`Invitation.id`).' }) }),
  });
}
