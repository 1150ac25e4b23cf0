import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import type { Scope } from '../../context.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import { parseInput } from '../../validation.js';
import { dateValue, jsonValue, placeholders, sqlRows } from '../../infra/sql.js';
import { isUuid } from '../auth/auth.service.js';
import { requireChannel } from '../channels/channels.service.js';
import { coerceSettingValue, inSpecShape, rawSettingEntries } from '../integrations/integration-spec.js';
import type { Integration, SettingSpec } from '../integrations/integration.entity.js';
import { requireIntegration } from '../integrations/integrations.service.js';
import { ChannelIntegrationSetting, IntegrationSetting } from './integration-setting.entity.js';

/**
 * A value for a setting label. Labels the spec declares are validated and typed by it; labels it does
 * not declare are kept as text (Telex stores free-form form fields) and never sent to the integration.
 */
export function validateSettingValue(integration: Integration, label: string, value: unknown, field = 'value'): unknown {
  const spec = integration.settingsSchema.find((s) => s.label === label);
  if (!spec) {
    if (value !== null && typeof value === 'object') throw new ValidationError(field, `"${label}" is not a setting of this integration, so its value must be plain text`);
    return value == null ? '' : String(value);
  }
  const empty = value == null || value === '' || (Array.isArray(value) && value.length === 0);
  if (empty) {
    if (spec.required) throw new ValidationError(field, `"${label}" is required`);
    return spec.type === 'number' ? null : Array.isArray(value) ? [] : '';
  }
  try {
    return coerceSettingValue(spec, value);
  } catch (error) {
    throw new ValidationError(field, `"${label}": ${(error as Error).message}`);
  }
}

const SetInput = z.object({
  integrationId: z.string(),
  label: z.string().trim().min(1, 'label is required').max(255),
  value: z.unknown().optional(),
});

/** Set (create or replace) an organisation-level value. */
export async function setIntegrationSetting(scope: Scope, input: z.input<typeof SetInput> & { organisationId?: string }) {
  const data = parseInput(SetInput, input);
  const integration = await requireIntegration(scope, data.integrationId, 'admin', input.organisationId);
  const value = validateSettingValue(integration, data.label, data.value);
  let setting = await scope.em.findOne(IntegrationSetting, { integration, label: data.label });
  if (setting) setting.value = value;
  else setting = scope.em.create(IntegrationSetting, { organisation: integration.organisation, integration, label: data.label, value });
  await scope.em.flush();
  await scope.deps.hooks.emit('integration.settingsChanged', { organisationId: integration.organisation.id, integrationId: integration.id });
  return setting;
}

export async function listIntegrationSettings(scope: Scope, integrationId: string, organisationId?: string) {
  const integration = await requireIntegration(scope, integrationId, 'member', organisationId);
  return scope.em.find(IntegrationSetting, { integration }, { orderBy: { createdAt: 'asc', id: 'asc' } });
}

const UpdateInput = z.object({
  integrationId: z.string(),
  settingId: z.string().optional().nullable(),
  label: z.string().trim().min(1, 'label must not be empty').max(255).optional().nullable(),
  value: z.unknown().optional(),
});

/**
 * Change one organisation-level value. The setting is the one with `settingId`; without an id, the one
 * whose label is `label` (its value changes); failing that, when the integration has exactly one stored
 * value, that one (renamed to `label`). Anything else is ambiguous and names the field to send.
 */
export async function updateIntegrationSetting(scope: Scope, input: z.input<typeof UpdateInput> & { organisationId?: string }) {
  const data = parseInput(UpdateInput, input);
  if (!data.settingId && !data.label && data.value === undefined) throw new ValidationError('label', 'send the label and/or the value to change');
  const integration = await requireIntegration(scope, data.integrationId, 'admin', input.organisationId);
  let setting: IntegrationSetting | null = null;
  if (data.settingId) {
    setting = isUuid(data.settingId) ? await scope.em.findOne(IntegrationSetting, { id: data.settingId, integration }) : null;
    if (!setting) throw new NotFoundError('setting', data.settingId);
  } else if (data.label) {
    setting = await scope.em.findOne(IntegrationSetting, { integration, label: data.label });
  }
  if (!setting) {
    const all = await scope.em.find(IntegrationSetting, { integration }, { limit: 2 });
    if (all.length === 0) throw new NotFoundError('setting', data.label ?? undefined);
    if (all.length > 1) {
      throw new ValidationError(data.label ? 'label' : 'settingId', data.label ? `no setting is labelled "${data.label}"; name the setting to change by its id` : 'this integration has several settings: name the one to change by its id or label');
    }
    setting = all[0];
  }
  const label = data.label || setting.label;
  if (label !== setting.label && (await scope.em.count(IntegrationSetting, { integration, label }))) {
    throw new ValidationError('label', `"${label}" already has a value for this integration`);
  }
  const value = validateSettingValue(integration, label, data.value === undefined ? setting.value : data.value);
  scope.em.assign(setting, { label, value });
  await scope.em.flush();
  await scope.deps.hooks.emit('integration.settingsChanged', { organisationId: integration.organisation.id, integrationId: integration.id });
  return setting;
}

const SetChannelInput = SetInput.extend({ channelId: z.string() });

/** Set (create or replace) a channel-level value, which overrides the organisation's. */
export async function setChannelIntegrationSetting(scope: Scope, input: z.input<typeof SetChannelInput> & { organisationId?: string }) {
  const data = parseInput(SetChannelInput, input);
  const integration = await requireIntegration(scope, data.integrationId, 'admin', input.organisationId);
  const channel = await requireChannel(scope, data.channelId, 'admin');
  if (channel.organisation.id !== integration.organisation.id) throw new NotFoundError('channel', data.channelId);
  const value = validateSettingValue(integration, data.label, data.value);
  let setting = await scope.em.findOne(ChannelIntegrationSetting, { integration, channel, label: data.label });
  if (setting) setting.value = value;
  else setting = scope.em.create(ChannelIntegrationSetting, { organisation: integration.organisation, integration, channel, label: data.label, value });
  await scope.em.flush();
  await scope.deps.hooks.emit('integration.settingsChanged', { organisationId: integration.organisation.id, integrationId: integration.id, channelId: channel.id });
  return setting;
}

export async function listChannelIntegrationSettings(scope: Scope, input: { integrationId: string; channelId: string; organisationId?: string }) {
  const integration = await requireIntegration(scope, input.integrationId, 'member', input.organisationId);
  const channel = await requireChannel(scope, input.channelId);
  if (channel.organisation.id !== integration.organisation.id) throw new NotFoundError('channel', input.channelId);
  return scope.em.find(ChannelIntegrationSetting, { integration, channel }, { orderBy: { createdAt: 'asc', id: 'asc' } });
}

/** A channel-level value as reads show it: a row on reads, the entity after a change (the same fields). */
export interface ChannelSettingRecord {
  id: string;
  label: string;
  value: unknown;
  integration: { id: string };
  channel: { id: string };
  createdAt: Date;
  updatedAt: Date;
}

/**
 * The channel-level values of many (integration, channel) pairs in one query, oldest first: rows, not entities
 * (a read of 20 channels' integrations shows hundreds of them). Pairs of the two lists that were not asked
 * for come back too; the caller keeps the ones it wants.
 */
export async function channelSettingRecords(em: EntityManager, pairs: { integrationId: string; channelId: string }[]): Promise<ChannelSettingRecord[]> {
  if (!pairs.length) return [];
  const integrationIds = [...new Set(pairs.map((p) => p.integrationId))];
  const channelIds = [...new Set(pairs.map((p) => p.channelId))];
  const rows = await sqlRows<{ id: string; integration_id: string; channel_id: string; label: string; value: unknown; created_at: unknown; updated_at: unknown }>(
    em,
    `select id, integration_id, channel_id, label, value, created_at, updated_at from channel_integration_settings
     where integration_id in (${placeholders(integrationIds.length)}) and channel_id in (${placeholders(channelIds.length)}) order by created_at, id`,
    [...integrationIds, ...channelIds],
  );
  return rows.map((r) => ({
    id: r.id,
    label: r.label,
    value: jsonValue(em, r.value),
    integration: { id: r.integration_id },
    channel: { id: r.channel_id },
    createdAt: dateValue(r.created_at)!,
    updatedAt: dateValue(r.updated_at)!,
  }));
}

async function requireChannelSetting(scope: Scope, input: { settingId: string; integrationId?: string; channelId?: string; organisationId?: string }) {
  const setting = isUuid(input.settingId) ? await scope.em.findOne(ChannelIntegrationSetting, { id: input.settingId }, { populate: ['integration'] }) : null;
  const mismatch =
    !setting ||
    (input.integrationId && setting.integration.id !== input.integrationId) ||
    (input.channelId && setting.channel.id !== input.channelId) ||
    (input.organisationId && setting.organisation.id !== input.organisationId);
  if (mismatch) throw new NotFoundError('setting', input.settingId);
  try {
    await requireIntegration(scope, setting!.integration.id, 'admin');
  } catch (error) {
    if (error instanceof NotFoundError) throw new NotFoundError('setting', input.settingId);
    throw error;
  }
  return setting!;
}

/** Change one channel-level value by its id (label and/or value). */
export async function updateChannelIntegrationSetting(
  scope: Scope,
  input: { settingId: string; label?: string | null; value?: unknown; integrationId?: string; channelId?: string; organisationId?: string },
) {
  const setting = await requireChannelSetting(scope, input);
  const label = input.label?.trim() || setting.label;
  if (label !== setting.label && (await scope.em.count(ChannelIntegrationSetting, { integration: setting.integration, channel: setting.channel, label }))) {
    throw new ValidationError('label', `"${label}" already has a value for this channel`);
  }
  const value = validateSettingValue(setting.integration, label, input.value === undefined ? setting.value : input.value);
  scope.em.assign(setting, { label, value });
  await scope.em.flush();
  await scope.deps.hooks.emit('integration.settingsChanged', { organisationId: setting.organisation.id, integrationId: setting.integration.id, channelId: setting.channel.id });
  return setting;
}

export async function deleteChannelIntegrationSetting(scope: Scope, input: { settingId: string; integrationId?: string; channelId?: string; organisationId?: string }) {
  const setting = await requireChannelSetting(scope, input);
  const event = { organisationId: setting.organisation.id, integrationId: setting.integration.id, channelId: setting.channel.id };
  await scope.em.remove(setting).flush();
  await scope.deps.hooks.emit('integration.settingsChanged', event);
  return setting;
}

export type SettingSource = 'channel' | 'organisation' | 'default';
export interface SettingInForce {
  spec: SettingSpec;
  value: unknown;
  source: SettingSource;
}

/** Each spec setting with the value in force and where it comes from: channel > organisation > default. */
export function settingsInForce(schema: SettingSpec[], orgValues: Map<string, unknown>, channelValues: Map<string, unknown>): SettingInForce[] {
  return schema.map((spec) => {
    if (channelValues.has(spec.label)) return { spec, value: channelValues.get(spec.label) ?? null, source: 'channel' };
    if (orgValues.has(spec.label)) return { spec, value: orgValues.get(spec.label) ?? null, source: 'organisation' };
    return { spec, value: spec.default ?? null, source: 'default' };
  });
}

/**
 * Settings as sent to an integration (modifier, output, tick): each entry as the spec wrote it (its own
 * keys, option shapes and spelling) with `default` replaced by the value in force, in the JSON shape of
 * the spec's default. GraphQL shows the typed values; this is the wire format integrations parse.
 */
export function payloadSettings(integration: Pick<Integration, 'spec'>, inForce: SettingInForce[]): Record<string, unknown>[] {
  const raw = rawSettingEntries(integration.spec);
  return inForce.map(({ spec, value }) => {
    const entry = raw.get(spec.label) ?? spec;
    // A setting the spec gave no default and nobody set goes out as the spec wrote it: without the key.
    if (value == null && !('default' in entry)) return entry;
    return { ...entry, default: inSpecShape(spec, entry.default, value) };
  });
}

/** Settings in force for many (integration, channel) pairs in two queries: the message path, ticks, GraphQL. */
export async function settingsInForceFor(em: EntityManager, pairs: { integration: Pick<Integration, 'id' | 'settingsSchema'>; channelId?: string | null }[]) {
  if (!pairs.length) return [];
  const integrationIds = [...new Set(pairs.map((p) => p.integration.id))];
  // Label and value rows, not entities: a read of 20 channels' integrations hydrated hundreds of setting
  // entities for these two columns, and that was most of the read's time.
  const [orgRows, channelRows] = await Promise.all([
    sqlRows<{ integration_id: string; label: string; value: unknown }>(em, `select integration_id, label, value from integration_settings where integration_id in (${placeholders(integrationIds.length)})`, integrationIds),
    channelSettingRecords(em, pairs.flatMap((p) => (p.channelId ? [{ integrationId: p.integration.id, channelId: p.channelId }] : []))),
  ]);
  const org = new Map<string, Map<string, unknown>>();
  for (const r of orgRows) mapFor(org, r.integration_id).set(r.label, jsonValue(em, r.value));
  const chan = new Map<string, Map<string, unknown>>();
  for (const r of channelRows) mapFor(chan, `${r.integration.id}:${r.channel.id}`).set(r.label, r.value);
  const none = new Map<string, unknown>();
  return pairs.map(({ integration, channelId }) =>
    settingsInForce(integration.settingsSchema, org.get(integration.id) ?? none, (channelId && chan.get(`${integration.id}:${channelId}`)) || none),
  );
}

function mapFor<K, V>(maps: Map<K, Map<string, V>>, key: K) {
  let m = maps.get(key);
  if (!m) maps.set(key, (m = new Map()));
  return m;
}
