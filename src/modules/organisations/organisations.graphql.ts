import { builder } from '../../graphql/builder.js';
import { mutationResult } from '../../graphql/errors.js';
import { UserRef } from '../auth/auth.graphql.js';
import { ROLES, type Membership } from './membership.entity.js';
import type { Organisation } from './organisation.entity.js';
import {
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
  }),
});

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
      'Add a user (by id or name) to an organisation, or change their role. Admins manage members and admins; giving the owner role or changing an owner\'s role needs the owner role (ForbiddenError), and the last owner cannot be demoted (ConflictError on `role`).',
    errors: mutationResult('The membership as it now is.'),
    args: {
      input: t.arg({
        description: 'Who, where, and with which role.',
        type: builder.inputType('SetMemberInput', {
          description: "A user's role in an organisation.",
          fields: (f) => ({
            organisationId: f.id({ required: true, description: 'The UUID of the organisation.' }),
            user: f.string({ required: true, description: 'The user: its UUID or its user name. An unknown user is a ValidationError on `user`.' }),
            role: f.field({ type: RoleEnum, required: true, description: 'The role to give.' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => setMember(ctx, { organisationId: String(input.organisationId), user: input.user, role: toRole(input.role) }),
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
