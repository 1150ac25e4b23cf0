import { builder } from '../../graphql/builder.js';
import { mutationErrors } from '../../graphql/errors.js';
import { groupBy } from '../../util.js';
import { ChannelRef } from '../channels/channels.graphql.js';
import { Channel } from '../channels/channel.entity.js';
import { loadByIds } from '../../graphql/loaders.js';
import { ChannelIntegrationRef, IntegrationRef } from '../integrations/integrations.graphql.js';
import type { Integration } from '../integrations/integration.entity.js';
import { requireChannel } from '../channels/channels.service.js';
import { ChannelIntegrationSetting, IntegrationSetting } from './integration-setting.entity.js';
import {
  deleteChannelIntegrationSetting,
  setChannelIntegrationSetting,
  setIntegrationSetting,
  settingsInForceFor,
  type SettingInForce,
} from './settings.service.js';

export const IntegrationSettingRef = builder.objectRef<IntegrationSetting>('IntegrationSetting').implement({
  description: 'An organisation-level value of an integration setting.',
  fields: (t) => ({
    id: t.exposeID('id'),
    label: t.exposeString('label'),
    value: t.field({ type: 'JSON', nullable: true, resolve: (s) => s.value ?? null }),
    integrationId: t.id({ resolve: (s) => s.integration.id }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const ChannelIntegrationSettingRef = builder.objectRef<ChannelIntegrationSetting>('ChannelIntegrationSetting').implement({
  description: 'A channel-level value of an integration setting; it overrides the organisation-level value.',
  fields: (t) => ({
    id: t.exposeID('id'),
    label: t.exposeString('label'),
    value: t.field({ type: 'JSON', nullable: true, resolve: (s) => s.value ?? null }),
    integrationId: t.id({ resolve: (s) => s.integration.id }),
    channel: t.loadable({ type: ChannelRef, load: (ids: string[], ctx) => loadByIds(ctx.em, Channel, ids), resolve: (s) => s.channel.id }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const SettingSourceEnum = builder.enumType('SettingSource', { values: ['CHANNEL', 'ORGANISATION', 'DEFAULT'] as const });

const EffectiveSettingRef = builder.objectRef<SettingInForce>('EffectiveSetting').implement({
  description: 'A setting with the value in force: channel > organisation > spec default.',
  fields: (t) => ({
    label: t.string({ resolve: (s) => s.spec.label }),
    type: t.string({ resolve: (s) => s.spec.type }),
    required: t.boolean({ resolve: (s) => s.spec.required === true }),
    options: t.stringList({ nullable: true, resolve: (s) => s.spec.options ?? null }),
    value: t.field({ type: 'JSON', nullable: true, resolve: (s) => s.value ?? null }),
    source: t.field({ type: SettingSourceEnum, resolve: (s) => s.source.toUpperCase() as 'DEFAULT' }),
  }),
});

builder.objectFields(IntegrationRef, (t) => ({
  settings: t.loadableList({
    type: IntegrationSettingRef,
    description: 'Organisation-level values.',
    load: async (ids: string[], ctx) =>
      groupBy(ids, await ctx.em.find(IntegrationSetting, { integration: { $in: ids } }, { orderBy: { createdAt: 'asc', id: 'asc' } }), (s) => s.integration.id),
    resolve: (i) => i.id,
  }),
  effectiveSettings: t.field({
    type: [EffectiveSettingRef],
    description: 'Values in force for a channel of this organisation, or at organisation level without channelId.',
    args: { channelId: t.arg.id() },
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

const pairKey = (l: { integration: Integration; channel: { id: string } }) => `${l.integration.id}:${l.channel.id}`;

builder.objectFields(ChannelIntegrationRef, (t) => ({
  settings: t.loadableList({
    type: ChannelIntegrationSettingRef,
    description: 'Channel-level values.',
    load: async (keys: string[], ctx) => {
      const pairs = keys.map((k) => k.split(':'));
      const rows = await ctx.em.find(
        ChannelIntegrationSetting,
        { integration: { $in: pairs.map((p) => p[0]) }, channel: { $in: pairs.map((p) => p[1]) } },
        { orderBy: { createdAt: 'asc', id: 'asc' } },
      );
      return groupBy(keys, rows, pairKey);
    },
    resolve: (l) => pairKey(l),
  }),
  effectiveSettings: t.loadableList({
    type: EffectiveSettingRef,
    load: (links: { integration: Integration; channelId: string }[], ctx) => settingsInForceFor(ctx.em, links),
    resolve: (l) => ({ integration: l.integration, channelId: l.channel.id }),
    loaderOptions: { cacheKeyFn: (k: { integration: Integration; channelId: string }) => `${k.integration.id}:${k.channelId}` },
  }),
}));

builder.mutationFields((t) => ({
  setIntegrationSetting: t.field({
    type: IntegrationSettingRef,
    description: "Set an organisation-level value. Labels in the spec are validated and typed by it.",
    errors: mutationErrors,
    args: {
      input: t.arg({
        type: builder.inputType('SetIntegrationSettingInput', {
          fields: (f) => ({ integrationId: f.id({ required: true }), label: f.string({ required: true }), value: f.field({ type: 'JSON' }) }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => setIntegrationSetting(ctx, { ...input, integrationId: String(input.integrationId) }),
  }),
  setChannelIntegrationSetting: t.field({
    type: ChannelIntegrationSettingRef,
    description: 'Set a channel-level value, overriding the organisation-level one.',
    errors: mutationErrors,
    args: {
      input: t.arg({
        type: builder.inputType('SetChannelIntegrationSettingInput', {
          fields: (f) => ({
            integrationId: f.id({ required: true }),
            channelId: f.id({ required: true }),
            label: f.string({ required: true }),
            value: f.field({ type: 'JSON' }),
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
    description: 'Remove a channel-level value, so the organisation-level value applies again.',
    errors: mutationErrors,
    args: {
      input: t.arg({ type: builder.inputType('DeleteChannelIntegrationSettingInput', { fields: (f) => ({ id: f.id({ required: true }) }) }), required: true }),
    },
    resolve: (_r, { input }, ctx) => deleteChannelIntegrationSetting(ctx, { settingId: String(input.id) }),
  }),
}));
