import { builder } from '../../graphql/builder.js';
import { mutationErrors } from '../../graphql/errors.js';
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

export const RoleEnum = builder.enumType('Role', { values: ROLES.map((r) => r.toUpperCase()) as ['MEMBER', 'ADMIN', 'OWNER'] });
const toRole = (r: string) => r.toLowerCase() as Membership['role'];

export const OrganisationRef = builder.objectRef<Organisation>('Organisation').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    viewerRole: t.field({
      type: RoleEnum,
      resolve: async (org, _args, ctx) => (await viewerRole(ctx, org.id))!.toUpperCase() as 'MEMBER',
    }),
    members: t.field({ type: [MembershipRef], resolve: (org, _args, ctx) => listMembers(ctx, org.id) }),
  }),
});

export const MembershipRef = builder.objectRef<Membership>('Membership').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    role: t.field({ type: RoleEnum, resolve: (m) => m.role.toUpperCase() as 'MEMBER' }),
    user: t.field({ type: UserRef, resolve: (m) => m.user }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  organisations: t.field({ type: [OrganisationRef], description: 'Organisations you are a member of.', resolve: (_r, _a, ctx) => listMyOrganisations(ctx) }),
  organisation: t.field({
    type: OrganisationRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) => findOrganisation(ctx, String(id)),
  }),
}));

builder.mutationFields((t) => ({
  createOrganisation: t.field({
    type: OrganisationRef,
    description: 'Create an organisation; you become its owner.',
    errors: mutationErrors,
    args: { input: t.arg({ type: builder.inputType('CreateOrganisationInput', { fields: (f) => ({ name: f.string({ required: true }) }) }), required: true }) },
    resolve: (_r, { input }, ctx) => createOrganisation(ctx, input),
  }),
  renameOrganisation: t.field({
    type: OrganisationRef,
    errors: mutationErrors,
    args: {
      input: t.arg({
        type: builder.inputType('RenameOrganisationInput', { fields: (f) => ({ id: f.id({ required: true }), name: f.string({ required: true }) }) }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => renameOrganisation(ctx, { id: String(input.id), name: input.name }),
  }),
  setMember: t.field({
    type: MembershipRef,
    description: 'Add a user (by id or name) to an organisation, or change their role.',
    errors: mutationErrors,
    args: {
      input: t.arg({
        type: builder.inputType('SetMemberInput', {
          fields: (f) => ({ organisationId: f.id({ required: true }), user: f.string({ required: true }), role: f.field({ type: RoleEnum, required: true }) }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => setMember(ctx, { organisationId: String(input.organisationId), user: input.user, role: toRole(input.role) }),
  }),
  removeMember: t.field({
    type: MembershipRef,
    errors: mutationErrors,
    args: {
      input: t.arg({
        type: builder.inputType('RemoveMemberInput', { fields: (f) => ({ organisationId: f.id({ required: true }), user: f.string({ required: true }) }) }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => removeMember(ctx, { organisationId: String(input.organisationId), user: input.user }),
  }),
}));
