import { builder } from '../../graphql/builder.js';
import { mutationResult } from '../../graphql/errors.js';
import { loadByIds } from '../../graphql/loaders.js';
import { ChannelRef } from '../channels/channels.graphql.js';
import { Channel } from '../channels/channel.entity.js';
import { OrganisationRef } from '../organisations/organisations.graphql.js';
import { Organisation } from '../organisations/organisation.entity.js';
import type { ChannelIntegration } from './channel-integration.entity.js';
import { INTEGRATION_TYPES, type Integration, type SettingSpec } from './integration.entity.js';
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
  revealedSigningSecret,
  rotateIntegrationSigningSecret,
  signingSecretHint,
  updateIntegration,
} from './integrations.service.js';

/** The stored types in capitals (typed against INTEGRATION_TYPES, so a new type needs its description here). */
const INTEGRATION_TYPE_VALUES: Record<Uppercase<(typeof INTEGRATION_TYPES)[number]>, { description: string }> = {
  MODIFIER: {
    description:
      "Receives each channel message at its target_url before it is stored and answers the text to keep; skipped when it fails or is slower than its budget (default 1 s). Modifiers chain in channel order. Telex's older name `filter` is read as this.",
  },
  INTERVAL: {
    description:
      "Called at its tick_url on the cron of its `interval` setting with a return_url, where it posts its messages later; with a target_url it also receives every channel message.",
  },
  OUTPUT: { description: 'Receives each channel message at its target_url after it is stored (a 2xx answer, usually 202, is success).' },
};
export const IntegrationTypeEnum = builder.enumType('IntegrationType', {
  description: "How an integration takes part in a channel's messages (the spec's `integration_type`).",
  values: INTEGRATION_TYPE_VALUES,
});

export const SettingSpecRef = builder.objectRef<SettingSpec>('SettingSpec').implement({
  description: "One entry of the spec's settings form.",
  fields: (t) => ({
    label: t.string({ description: 'The label: the name a value is set under (`label` in setIntegrationSetting).', resolve: (s) => s.label }),
    type: t.string({ description: 'text, number, checkbox, radio, dropdown, multi-checkbox, multi-select, ...', resolve: (s) => s.type }),
    required: t.boolean({ description: 'Whether the setting must have a value (a required setting cannot be set to empty).', resolve: (s) => s.required === true }),
    default: t.field({ type: 'JSON', nullable: true, description: "The spec's default, in the spec's own JSON shape; null when it has none.", resolve: (s) => s.default ?? null }),
    options: t.stringList({ nullable: true, description: 'The allowed values (dropdown, radio, multi-select ...); null when any value of the type is allowed.', resolve: (s) => s.options ?? null }),
    description: t.string({ nullable: true, description: "The spec's help text for the setting, if any.", resolve: (s) => (typeof s.description === 'string' ? s.description : null) }),
  }),
});

export const IntegrationRef = builder.objectRef<Integration>('Integration').implement({
  description:
    "An integration added to an organisation from its JSON spec (`{\"data\": {...}}` at jsonUrl). The spec is kept whole in `spec`; the fields below are read from it. Members of the organisation can see it.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The UUID of the integration.' }),
    name: t.exposeString('name', { description: "The organisation's name for it; the spec's app_name when none was given." }),
    jsonUrl: t.exposeString('jsonUrl', { description: 'Where the spec was fetched from (http or https).' }),
    appName: t.exposeString('appName', { description: "The spec's `descriptions.app_name` (`Untitled integration` when missing)." }),
    appDescription: t.exposeString('appDescription', { description: "The spec's `descriptions.app_description`; empty when missing." }),
    appLogo: t.exposeString('appLogo', { nullable: true, description: "URL of the app's logo (`descriptions.app_logo`)." }),
    appUrl: t.exposeString('appUrl', { nullable: true, description: "URL of the app or service (`descriptions.app_url`)." }),
    backgroundColor: t.exposeString('backgroundColor', { nullable: true, description: 'A colour for showing the app, as the spec writes it (e.g. `#HEXCODE`).' }),
    integrationType: t.field({ type: IntegrationTypeEnum, description: 'How the integration takes part in channel messages.', resolve: (i) => i.integrationType.toUpperCase() as 'MODIFIER' }),
    integrationCategory: t.exposeString('integrationCategory', { nullable: true, description: "The spec's `integration_category` (or `category`), e.g. `Monitoring & Logging`." }),
    targetUrl: t.exposeString('targetUrl', { nullable: true, description: 'Where channel messages are POSTed (modifiers, outputs, interval integrations that collect messages).' }),
    tickUrl: t.exposeString('tickUrl', { nullable: true, description: 'Interval integrations: where each tick is POSTed (`{channel_id, return_url, settings}`).' }),
    keyFeatures: t.exposeStringList('keyFeatures', { description: "The spec's `key_features`, as text." }),
    warnings: t.stringList({
      description: 'What in the spec was odd but workable (kept, normalised or ignored), each naming its path in the spec; empty when nothing was. Refreshing the spec recomputes them.',
      resolve: (i) => i.warnings ?? [],
    }),
    isActive: t.exposeBoolean('isActive', { description: 'An inactive integration is kept with its settings but not called (no modifier, output or tick). Default true.' }),
    isSystemIntegration: t.exposeBoolean('isSystemIntegration', {
      description: 'Whether it is one of the platform\'s own integrations rather than one the organisation added (custom); integrations added through this API are not.',
    }),
    authCredential: t.string({ nullable: true, description: 'Masked: only the last four characters are shown.', resolve: (i, _a, ctx) => maskedCredential(ctx, i) }),
    signingSecret: t.string({
      nullable: true,
      description:
        "The `whsec_` secret its calls are signed with (Standard Webhooks headers `webhook-id`, `webhook-timestamp`, `webhook-signature`), in full: only on the result of addIntegration and rotateIntegrationSigningSecret, null everywhere else. Keep it; it is never shown again.",
      resolve: (i) => revealedSigningSecret(i),
    }),
    signingSecretHint: t.string({
      nullable: true,
      description: 'The last four characters of the current signing secret; null for an integration added before calls were signed (rotate to get one).',
      resolve: (i, _a, ctx) => signingSecretHint(ctx, i),
    }),
    previousSigningSecretExpiresAt: t.expose('previousSigningSecretExpiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Until when calls also carry a signature by the secret replaced at the last rotation; null when none is in force.',
    }),
    spec: t.field({ type: 'JSON', description: 'The spec as fetched from jsonUrl, whole.', resolve: (i) => i.spec }),
    settingsSchema: t.field({ type: [SettingSpecRef], description: "The spec's settings form, in spec order.", resolve: (i) => i.settingsSchema }),
    organisation: t.loadable({ type: OrganisationRef, description: 'The organisation that added it.', load: (ids: string[], ctx) => loadByIds(ctx.em, Organisation, ids), resolve: (i) => i.organisation.id }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was added.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it was last changed or its spec refreshed.' }),
  }),
});

export const ChannelIntegrationRef = builder.objectRef<ChannelIntegration>('ChannelIntegration').implement({
  description: 'An integration switched on for a channel.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The UUID of the link between the integration and the channel.' }),
    position: t.exposeInt('position', { description: 'Modifiers run in ascending position.' }),
    integration: t.field({ type: IntegrationRef, description: 'The integration switched on.', resolve: (l) => l.integration }),
    channel: t.loadable({
      type: ChannelRef,
      description: 'The channel it is switched on for.',
      load: (ids: string[], ctx) => loadByIds(ctx.em, Channel, ids),
      resolve: (l) => l.channel.id,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was switched on.' }),
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
    description: "The organisation's integrations, oldest first, optionally filtered (the filters combine).",
    args: {
      type: t.arg({ type: IntegrationTypeEnum, description: 'Only integrations of this type.' }),
      category: t.arg.string({ description: 'Only integrations of this category (exact match on integrationCategory).' }),
      active: t.arg.boolean({ description: 'Only active (true) or only inactive (false) integrations.' }),
    },
    resolve: (org, args, ctx) => listIntegrations(ctx, org.id, { type: IntegrationTypeArg(args.type), category: args.category, active: args.active }),
  }),
}));

builder.queryField('integration', (t) =>
  t.field({
    type: IntegrationRef,
    nullable: true,
    description: 'One integration; null when it does not exist or belongs to an organisation you are not a member of.',
    args: { id: t.arg.id({ required: true, description: 'The UUID of the integration.' }) },
    resolve: (_r, { id }, ctx) => findIntegration(ctx, String(id)),
  }),
);

builder.mutationFields((t) => ({
  addIntegration: t.field({
    type: IntegrationRef,
    description:
      "Fetch an integration's JSON spec from jsonUrl, validate it, and add it to the organisation. Needs the admin role. A spec that cannot be fetched or cannot work (no `data`, unknown type, missing target_url/tick_url ...) is a ValidationError on `jsonUrl` naming the problem; what is odd but workable is listed in `warnings`.",
    errors: mutationResult('The new integration.'),
    args: {
      input: t.arg({
        description: 'Where the spec is, and for which organisation.',
        type: builder.inputType('AddIntegrationInput', {
          description: 'An integration to add from its spec.',
          fields: (f) => ({
            organisationId: f.id({ required: true, description: 'The UUID of the organisation.' }),
            jsonUrl: f.string({ required: true, description: 'The http(s) URL of the spec (`{"data": {...}}`); fetched now.' }),
            name: f.string({ description: "Your name for it, up to 200 characters. Default: the spec's app_name." }),
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
    description:
      'Fetch the spec again (from a new jsonUrl when given); settings and channels are kept. Needs the admin role. The spec must keep its integration type (else ValidationError on `jsonUrl`).',
    errors: mutationResult('The integration with the fields of its new spec.'),
    args: {
      input: t.arg({
        description: 'The integration, and optionally a new spec URL.',
        type: builder.inputType('RefreshIntegrationInput', {
          description: 'An integration whose spec to read again.',
          fields: (f) => ({
            id: f.id({ required: true, description: 'The UUID of the integration.' }),
            jsonUrl: f.string({ description: 'A new http(s) spec URL. Default: the current jsonUrl.' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => refreshIntegration(ctx, { id: String(input.id), jsonUrl: input.jsonUrl }),
  }),
  updateIntegration: t.field({
    type: IntegrationRef,
    description: 'Rename an integration, switch it on or off for the whole organisation, or change its credential. Needs the admin role.',
    errors: mutationResult('The integration as it now is.'),
    args: {
      input: t.arg({
        description: 'The integration and what to change.',
        type: builder.inputType('UpdateIntegrationInput', {
          description: 'Changes to an integration; absent fields keep their value.',
          fields: (f) => ({
            id: f.id({ required: true, description: 'The UUID of the integration.' }),
            name: f.string({ description: 'A new name, 1 to 200 characters.' }),
            isActive: f.boolean({ description: 'false keeps the integration and its settings but stops calling it; true resumes.' }),
            authCredential: f.string({ description: 'A new secret (stored encrypted, shown masked); null or an empty string removes it.' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => updateIntegration(ctx, { ...input, id: String(input.id) }),
  }),
  rotateIntegrationSigningSecret: t.field({
    type: IntegrationRef,
    description:
      "Give an integration a new signing secret, returned once in `signingSecret`. During the overlap every call carries two `v1` signatures (new and old secret, space-separated, as Svix sends them), so receivers can switch without losing a call; then the old one stops. A secret replaced earlier and still overlapping is dropped at once. Needs the admin role.",
    errors: mutationResult('The integration with its new secret in `signingSecret` (shown this once).'),
    args: {
      input: t.arg({
        description: 'The integration, and how long the old secret still signs.',
        type: builder.inputType('RotateIntegrationSigningSecretInput', {
          description: 'A signing secret to replace.',
          fields: (f) => ({
            integrationId: f.id({ required: true, description: 'The UUID of the integration.' }),
            overlapHours: f.float({ description: 'Hours (0 to 720) the old secret still signs beside the new one; 0 drops it at once. Default: SIGNING_SECRET_OVERLAP_HOURS (24).' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => rotateIntegrationSigningSecret(ctx, { integrationId: String(input.integrationId), overlapHours: input.overlapHours }),
  }),
  removeIntegration: t.field({
    type: IntegrationRef,
    description: 'Remove an integration with its settings and channel links; its scheduled ticks stop. Needs the admin role.',
    errors: mutationResult('The removed integration, as it was.'),
    args: {
      input: t.arg({
        description: 'The integration to remove.',
        type: builder.inputType('RemoveIntegrationInput', {
          description: 'An integration to remove.',
          fields: (f) => ({ id: f.id({ required: true, description: 'The UUID of the integration.' }) }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => removeIntegration(ctx, { id: String(input.id) }),
  }),
  enableIntegration: t.field({
    type: ChannelIntegrationRef,
    description:
      'Switch an integration on for a channel (idempotent). `position` orders modifiers; default: last. Needs the admin role; the integration and channel must be of the same organisation.',
    errors: mutationResult('The link between the integration and the channel.'),
    args: {
      input: t.arg({
        description: 'Which integration, which channel, and where in the chain.',
        type: builder.inputType('EnableIntegrationInput', {
          description: 'An integration to switch on for a channel.',
          fields: (f) => ({
            integrationId: f.id({ required: true, description: 'The UUID of the integration.' }),
            channelId: f.id({ required: true, description: 'The UUID of the channel.' }),
            position: f.int({ description: "Its place in the channel's chain (0 or more; ascending order). Default: after the last; when already enabled, the position changes only if given." }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => enableIntegration(ctx, { integrationId: String(input.integrationId), channelId: String(input.channelId), position: input.position }),
  }),
  disableIntegration: t.field({
    type: ChannelIntegrationRef,
    description: 'Switch an integration off for a channel: it stops receiving its messages (and ticks); its channel-level settings are kept for when it is switched on again. Needs the admin role; ConflictError when it was not on.',
    errors: mutationResult('The removed link.'),
    args: {
      input: t.arg({
        description: 'Which integration, which channel.',
        type: builder.inputType('DisableIntegrationInput', {
          description: 'An integration to switch off for a channel.',
          fields: (f) => ({
            integrationId: f.id({ required: true, description: 'The UUID of the integration.' }),
            channelId: f.id({ required: true, description: 'The UUID of the channel.' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => disableIntegration(ctx, { integrationId: String(input.integrationId), channelId: String(input.channelId) }),
  }),
}));
