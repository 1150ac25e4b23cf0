import { builder } from '../../graphql/builder.js';
import { mutationErrors } from '../../graphql/errors.js';
import { loadByIds } from '../../graphql/loaders.js';
import { ChannelRef } from '../channels/channels.graphql.js';
import { Channel } from '../channels/channel.entity.js';
import { OrganisationRef } from '../organisations/organisations.graphql.js';
import { Organisation } from '../organisations/organisation.entity.js';
import type { ChannelIntegration } from './channel-integration.entity.js';
import type { SettingSpec } from './integration-spec.js';
import { INTEGRATION_TYPES, type Integration } from './integration.entity.js';
import {
  addIntegration,
  channelIntegrationsFor,
  disableIntegration,
  enableIntegration,
  findIntegration,
  listIntegrations,
  maskedCredential,
  refreshIntegration,
  removeIntegration,
  updateIntegration,
} from './integrations.service.js';

export const IntegrationTypeEnum = builder.enumType('IntegrationType', {
  values: INTEGRATION_TYPES.map((t) => t.toUpperCase()) as ['MODIFIER', 'INTERVAL', 'OUTPUT'],
});

export const SettingSpecRef = builder.objectRef<SettingSpec>('SettingSpec').implement({
  description: "One entry of the spec's settings form.",
  fields: (t) => ({
    label: t.string({ resolve: (s) => s.label }),
    type: t.string({ description: 'text, number, checkbox, radio, dropdown, multi-checkbox, multi-select, ...', resolve: (s) => s.type }),
    required: t.boolean({ resolve: (s) => s.required === true }),
    default: t.field({ type: 'JSON', nullable: true, resolve: (s) => s.default ?? null }),
    options: t.stringList({ nullable: true, resolve: (s) => s.options ?? null }),
    description: t.string({ nullable: true, resolve: (s) => (typeof s.description === 'string' ? s.description : null) }),
  }),
});

export const IntegrationRef = builder.objectRef<Integration>('Integration').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    jsonUrl: t.exposeString('jsonUrl'),
    appName: t.exposeString('appName'),
    appDescription: t.exposeString('appDescription'),
    appLogo: t.exposeString('appLogo', { nullable: true }),
    appUrl: t.exposeString('appUrl', { nullable: true }),
    backgroundColor: t.exposeString('backgroundColor', { nullable: true }),
    integrationType: t.field({ type: IntegrationTypeEnum, resolve: (i) => i.integrationType.toUpperCase() as 'MODIFIER' }),
    integrationCategory: t.exposeString('integrationCategory', { nullable: true }),
    targetUrl: t.exposeString('targetUrl', { nullable: true }),
    tickUrl: t.exposeString('tickUrl', { nullable: true }),
    keyFeatures: t.exposeStringList('keyFeatures'),
    warnings: t.stringList({
      description: 'What in the spec was odd but workable (kept, normalised or ignored), each naming its path in the spec; empty when nothing was. Refreshing the spec recomputes them.',
      resolve: (i) => i.warnings ?? [],
    }),
    isActive: t.exposeBoolean('isActive'),
    isSystemIntegration: t.exposeBoolean('isSystemIntegration'),
    authCredential: t.string({ nullable: true, description: 'Masked: only the last four characters are shown.', resolve: (i, _a, ctx) => maskedCredential(ctx, i) }),
    spec: t.field({ type: 'JSON', description: 'The spec as fetched from jsonUrl, whole.', resolve: (i) => i.spec }),
    settingsSchema: t.field({ type: [SettingSpecRef], resolve: (i) => i.settingsSchema }),
    organisation: t.loadable({ type: OrganisationRef, load: (ids: string[], ctx) => loadByIds(ctx.em, Organisation, ids), resolve: (i) => i.organisation.id }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const ChannelIntegrationRef = builder.objectRef<ChannelIntegration>('ChannelIntegration').implement({
  description: 'An integration switched on for a channel.',
  fields: (t) => ({
    id: t.exposeID('id'),
    position: t.exposeInt('position', { description: 'Modifiers run in ascending position.' }),
    integration: t.field({ type: IntegrationRef, resolve: (l) => l.integration }),
    channel: t.loadable({ type: ChannelRef, load: (ids: string[], ctx) => loadByIds(ctx.em, Channel, ids), resolve: (l) => l.channel.id }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.objectFields(ChannelRef, (t) => ({
  integrations: t.loadableList({
    type: ChannelIntegrationRef,
    description: 'Integrations switched on for this channel, in chain order.',
    load: (ids: string[], ctx) => channelIntegrationsFor(ctx.em, ids),
    resolve: (c) => c.id,
  }),
}));

const IntegrationTypeArg = (v: string | null | undefined) => (v ? (v.toLowerCase() as Integration['integrationType']) : null);

builder.objectFields(OrganisationRef, (t) => ({
  integrations: t.field({
    type: [IntegrationRef],
    args: { type: t.arg({ type: IntegrationTypeEnum }), category: t.arg.string(), active: t.arg.boolean() },
    resolve: (org, args, ctx) => listIntegrations(ctx, org.id, { type: IntegrationTypeArg(args.type), category: args.category, active: args.active }),
  }),
}));

builder.queryField('integration', (t) =>
  t.field({ type: IntegrationRef, nullable: true, args: { id: t.arg.id({ required: true }) }, resolve: (_r, { id }, ctx) => findIntegration(ctx, String(id)) }),
);

builder.mutationFields((t) => ({
  addIntegration: t.field({
    type: IntegrationRef,
    description: "Fetch an integration's JSON spec from jsonUrl, validate it, and add it to the organisation.",
    errors: mutationErrors,
    args: {
      input: t.arg({
        type: builder.inputType('AddIntegrationInput', {
          fields: (f) => ({
            organisationId: f.id({ required: true }),
            jsonUrl: f.string({ required: true }),
            name: f.string(),
            authCredential: f.string({ description: 'A secret the integration needs; stored encrypted, shown masked.' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => addIntegration(ctx, { ...input, organisationId: String(input.organisationId) }),
  }),
  refreshIntegration: t.field({
    type: IntegrationRef,
    description: 'Fetch the spec again (from a new jsonUrl when given); settings and channels are kept.',
    errors: mutationErrors,
    args: {
      input: t.arg({ type: builder.inputType('RefreshIntegrationInput', { fields: (f) => ({ id: f.id({ required: true }), jsonUrl: f.string() }) }), required: true }),
    },
    resolve: (_r, { input }, ctx) => refreshIntegration(ctx, { id: String(input.id), jsonUrl: input.jsonUrl }),
  }),
  updateIntegration: t.field({
    type: IntegrationRef,
    errors: mutationErrors,
    args: {
      input: t.arg({
        type: builder.inputType('UpdateIntegrationInput', {
          fields: (f) => ({ id: f.id({ required: true }), name: f.string(), isActive: f.boolean(), authCredential: f.string() }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => updateIntegration(ctx, { ...input, id: String(input.id) }),
  }),
  removeIntegration: t.field({
    type: IntegrationRef,
    errors: mutationErrors,
    args: { input: t.arg({ type: builder.inputType('RemoveIntegrationInput', { fields: (f) => ({ id: f.id({ required: true }) }) }), required: true }) },
    resolve: (_r, { input }, ctx) => removeIntegration(ctx, { id: String(input.id) }),
  }),
  enableIntegration: t.field({
    type: ChannelIntegrationRef,
    description: 'Switch an integration on for a channel (idempotent). `position` orders modifiers; default: last.',
    errors: mutationErrors,
    args: {
      input: t.arg({
        type: builder.inputType('EnableIntegrationInput', {
          fields: (f) => ({ integrationId: f.id({ required: true }), channelId: f.id({ required: true }), position: f.int() }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => enableIntegration(ctx, { integrationId: String(input.integrationId), channelId: String(input.channelId), position: input.position }),
  }),
  disableIntegration: t.field({
    type: ChannelIntegrationRef,
    errors: mutationErrors,
    args: {
      input: t.arg({
        type: builder.inputType('DisableIntegrationInput', { fields: (f) => ({ integrationId: f.id({ required: true }), channelId: f.id({ required: true }) }) }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => disableIntegration(ctx, { integrationId: String(input.integrationId), channelId: String(input.channelId) }),
  }),
}));
