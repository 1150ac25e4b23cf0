import { builder } from '../../graphql/builder.js';
import { mutationResult } from '../../graphql/errors.js';
import { groupBy } from '../../util.js';
import { ChannelRef } from '../channels/channels.graphql.js';
import { Channel } from '../channels/channel.entity.js';
import { loadByIds } from '../../graphql/loaders.js';
import { ChannelIntegrationRef, IntegrationRef } from '../integrations/integrations.graphql.js';
import type { Integration } from '../integrations/integration.entity.js';
import { requireChannel } from '../channels/channels.service.js';
import { IntegrationSetting } from './integration-setting.entity.js';
import {
  deleteChannelIntegrationSetting,
  setChannelIntegrationSetting,
  setIntegrationSetting,
  settingsInForceFor,
  channelSettingRecords,
  type ChannelSettingRecord,
  type SettingInForce,
} from './settings.service.js';

export const IntegrationSettingRef = builder.objectRef<IntegrationSetting>('IntegrationSetting').implement({
  description: 'An organisation-level value of an integration setting.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The UUID of the stored value.' }),
    label: t.exposeString('label', { description: "The setting's label (one value per label and integration)." }),
    value: t.field({ type: 'JSON', nullable: true, description: "The value, typed by the spec's setting (number, boolean, string or list of strings); labels the spec does not declare hold text.", resolve: (s) => s.value ?? null }),
    integrationId: t.id({ description: 'The integration the value is for.', resolve: (s) => s.integration.id }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the value was first set.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the value last changed.' }),
  }),
});

export const ChannelIntegrationSettingRef = builder.objectRef<ChannelSettingRecord>('ChannelIntegrationSetting').implement({
  description: 'A channel-level value of an integration setting; it overrides the organisation-level value.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The UUID of the stored value (pass it to deleteChannelIntegrationSetting).' }),
    label: t.exposeString('label', { description: "The setting's label (one value per label, integration and channel)." }),
    value: t.field({ type: 'JSON', nullable: true, description: "The value, typed by the spec's setting (number, boolean, string or list of strings); labels the spec does not declare hold text.", resolve: (s) => s.value ?? null }),
    integrationId: t.id({ description: 'The integration the value is for.', resolve: (s) => s.integration.id }),
    channel: t.loadable({
      type: ChannelRef,
      description: 'The channel the value applies to.',
      load: (ids: string[], ctx) => loadByIds(ctx.em, Channel, ids),
      resolve: (s) => s.channel.id,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the value was first set.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the value last changed.' }),
  }),
});

const SettingSourceEnum = builder.enumType('SettingSource', {
  description: 'Where the value in force of a setting comes from.',
  values: {
    CHANNEL: { description: 'A channel-level value (setChannelIntegrationSetting).' },
    ORGANISATION: { description: 'An organisation-level value (setIntegrationSetting), as no channel value is set.' },
    DEFAULT: { description: "The spec's default, as no value is set." },
  } as const,
});

const EffectiveSettingRef = builder.objectRef<SettingInForce>('EffectiveSetting').implement({
  description: 'A setting with the value in force: channel > organisation > spec default.',
  fields: (t) => ({
    label: t.string({ description: "The setting's label in the spec.", resolve: (s) => s.spec.label }),
    type: t.string({ description: "The spec's setting type: text, number, checkbox, radio, dropdown, multi-select ...", resolve: (s) => s.spec.type }),
    required: t.boolean({ description: 'Whether the spec requires a value.', resolve: (s) => s.spec.required === true }),
    options: t.stringList({ nullable: true, description: 'The allowed values, when the spec lists them.', resolve: (s) => s.spec.options ?? null }),
    value: t.field({ type: 'JSON', nullable: true, description: 'The value in force, typed by the setting (null when none is set and the spec has no default).', resolve: (s) => s.value ?? null }),
    source: t.field({ type: SettingSourceEnum, description: 'Where `value` comes from.', resolve: (s) => s.source.toUpperCase() as 'DEFAULT' }),
  }),
});

builder.objectFields(IntegrationRef, (t) => ({
  settings: t.loadableList({
    type: IntegrationSettingRef,
    description: 'Organisation-level values, oldest first.',
    load: async (ids: string[], ctx) =>
      groupBy(ids, await ctx.em.find(IntegrationSetting, { integration: { $in: ids } }, { orderBy: { createdAt: 'asc', id: 'asc' } }), (s) => s.integration.id),
    resolve: (i) => i.id,
  }),
  effectiveSettings: t.field({
    type: [EffectiveSettingRef],
    description: 'Values in force for a channel of this organisation, or at organisation level without channelId.',
    args: { channelId: t.arg.id({ description: 'A channel of the same organisation (another organisation\'s channel gives an empty list). Default: organisation level.' }) },
    resolve: async (i, { channelId }, ctx) => {
      if (channelId) {
        const channel = await requireChannel(ctx, String(channelId));
        if (channel.organisation.id !== i.organisation.id) return [];
      }
      const [inForce] = await settingsInForceFor(ctx.em, [{ integration: i, channelId: channelId ? String(channelId) : null }]);
      return inForce;
    },
  }),
}));

const pairKey = (l: { integration: { id: string }; channel: { id: string } }) => `${l.integration.id}:${l.channel.id}`;

builder.objectFields(ChannelIntegrationRef, (t) => ({
  settings: t.loadableList({
    type: ChannelIntegrationSettingRef,
    description: 'Channel-level values, oldest first.',
    load: async (keys: string[], ctx) => {
      const pairs = keys.map((k) => {
        const [integrationId, channelId] = k.split(':') as [string, string];
        return { integrationId, channelId };
      });
      const records = await channelSettingRecords(ctx.em, pairs);
      return groupBy(keys, records, pairKey);
    },
    resolve: (l) => pairKey(l),
  }),
  effectiveSettings: t.loadableList({
    type: EffectiveSettingRef,
    description: "Every setting of the spec with the value in force for this channel (channel > organisation > default), as sent to the integration.",
    load: (links: { integration: Integration; channelId: string }[], ctx) => settingsInForceFor(ctx.em, links),
    resolve: (l) => ({ integration: l.integration, channelId: l.channel.id }),
    loaderOptions: { cacheKeyFn: (k: { integration: Integration; channelId: string }) => `${k.integration.id}:${k.channelId}` },
  }),
}));

builder.mutationFields((t) => ({
  setIntegrationSetting: t.field({
    type: IntegrationSettingRef,
    description:
      "Set (create or replace) an organisation-level value. Labels in the spec are validated and typed by it (ValidationError on `value` when it does not fit); other labels are kept as text. Needs the admin role.",
    errors: mutationResult('The stored value.'),
    args: {
      input: t.arg({
        description: 'The integration, the label and the value.',
        type: builder.inputType('SetIntegrationSettingInput', {
          description: 'An organisation-level setting value.',
          fields: (f) => ({
            integrationId: f.id({ required: true, description: 'The UUID of the integration.' }),
            label: f.string({ required: true, description: "The setting's label, 1 to 255 characters (a spec label, or a free-form one)." }),
            value: f.field({ type: 'JSON', description: "The value: a number, boolean, string or list of strings as the setting's type asks. Null or absent clears it (refused for a required setting)." }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => setIntegrationSetting(ctx, { ...input, integrationId: String(input.integrationId) }),
  }),
  setChannelIntegrationSetting: t.field({
    type: ChannelIntegrationSettingRef,
    description: 'Set (create or replace) a channel-level value, overriding the organisation-level one. Validated like setIntegrationSetting. Needs the admin role.',
    errors: mutationResult('The stored channel-level value.'),
    args: {
      input: t.arg({
        description: 'The integration, the channel, the label and the value.',
        type: builder.inputType('SetChannelIntegrationSettingInput', {
          description: 'A channel-level setting value.',
          fields: (f) => ({
            integrationId: f.id({ required: true, description: 'The UUID of the integration.' }),
            channelId: f.id({ required: true, description: 'The UUID of a channel of the same organisation.' }),
            label: f.string({ required: true, description: "The setting's label, 1 to 255 characters." }),
            value: f.field({ type: 'JSON', description: "The value, typed as the setting's type asks. Null or absent clears it (refused for a required setting)." }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) =>
      setChannelIntegrationSetting(ctx, { ...input, integrationId: String(input.integrationId), channelId: String(input.channelId) }),
  }),
  deleteChannelIntegrationSetting: t.field({
    type: ChannelIntegrationSettingRef,
    description: 'Remove a channel-level value, so the organisation-level value applies again. Needs the admin role.',
    errors: mutationResult('The removed value.'),
    args: {
      input: t.arg({
        description: 'The value to remove.',
        type: builder.inputType('DeleteChannelIntegrationSettingInput', {
          description: 'A channel-level value to remove.',
          fields: (f) => ({ id: f.id({ required: true, description: 'The UUID of the value (`ChannelIntegrationSetting.id`).' }) }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => deleteChannelIntegrationSetting(ctx, { settingId: String(input.id) }),
  }),
}));
