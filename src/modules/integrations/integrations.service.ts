import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import type { Scope } from '../../context.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import { decryptSecret, encryptSecret, maskSecret } from '../../infra/crypto.js';
import { OutboundError } from '../../infra/http.js';
import { generateSigningSecret, signingKey } from '../../infra/webhook-signature.js';
import { parseInput } from '../../validation.js';
import { groupBy } from '../../util.js';
import { isUuid } from '../auth/auth.service.js';
import { requireChannel } from '../channels/channels.service.js';
import { channelIntegrationTarget } from '../deliveries/deliveries.service.js';
import type { Role } from '../organisations/membership.entity.js';
import { requireMembership } from '../organisations/organisations.service.js';
import { ChannelIntegration } from './channel-integration.entity.js';
import { isAllChannelsLabel, parseSpec, specBotName, specOutput, type ParsedSpec } from './integration-spec.js';
import { Channel } from '../channels/channel.entity.js';
import type { Deps } from '../../context.js';
import { INTEGRATION_TYPES, Integration, type IntegrationType } from './integration.entity.js';

/** The integration, if the viewer's role in its organisation is at least `minRole`; NotFound otherwise. */
export async function requireIntegration(scope: Scope, integrationId: string, minRole: Role = 'member', organisationId?: string) {
  const integration = isUuid(integrationId) ? await scope.em.findOne(Integration, { id: integrationId }) : null;
  if (!integration || (organisationId && integration.organisation.id !== organisationId)) {
    throw new NotFoundError('integration', integrationId);
  }
  try {
    await requireMembership(scope, integration.organisation.id, minRole);
  } catch (error) {
    if (error instanceof NotFoundError) throw new NotFoundError('integration', integrationId);
    throw error;
  }
  return integration;
}

export async function findIntegration(scope: Scope, id: string) {
  try {
    return await requireIntegration(scope, id);
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
}

/** Fetch a spec from its URL with the guarded client and validate it. */
export async function fetchSpec(scope: Scope, jsonUrl: string, field = 'jsonUrl'): Promise<ParsedSpec> {
  let document: unknown;
  try {
    document = await scope.deps.http.fetchJson(jsonUrl, scope.deps.config.outbound.specMaxBytes);
  } catch (error) {
    if (error instanceof OutboundError) throw new ValidationError(field, `could not load the integration spec from ${field}: ${error.message}`);
    throw error;
  }
  return parseSpec(document, field);
}

const Url = z.string().trim().min(1, 'is required').refine((v) => /^https?:\/\/[^\s]+$/i.test(v), 'must be an http(s) URL');

/**
 * Older names callers still send for a type: Telex's REST example creates an integration with
 * `"integration_type": "filter"`, a message filter, which is what a modifier does.
 */
export const INTEGRATION_TYPE_ALIASES: Record<string, IntegrationType> = { filter: 'modifier' };

const AddInput = z.object({
  organisationId: z.string(),
  jsonUrl: Url,
  name: z.string().trim().max(200).optional().nullable(),
  authCredential: z.string().max(10_000).optional().nullable(),
  /** Telex's REST body carries a type; when given it must match the spec's. */
  integrationType: z.string().optional().nullable(),
});

export async function addIntegration(scope: Scope, input: z.input<typeof AddInput>) {
  const data = parseInput(AddInput, input);
  const organisation = await requireMembership(scope, data.organisationId, 'admin');
  const parsed = await fetchSpec(scope, data.jsonUrl);
  const declared = data.integrationType?.trim().toLowerCase();
  if (declared && (INTEGRATION_TYPE_ALIASES[declared] ?? declared) !== parsed.integrationType) {
    throw new ValidationError('integrationType', `the spec declares integration_type "${parsed.integrationType}", not "${data.integrationType}"`);
  }
  const integration = scope.em.create(Integration, {
    organisation,
    jsonUrl: data.jsonUrl,
    name: data.name || parsed.appName,
    authCredential: data.authCredential ? encryptSecret(scope.deps.config.secretKey, data.authCredential) : null,
    ...parsed,
  });
  const secret = generateSigningSecret();
  integration.signingSecret = encryptSecret(scope.deps.config.secretKey, secret);
  await scope.em.flush();
  await applySpecOutput(scope, integration);
  return revealSigningSecret(integration, secret);
}

// ---------------------------------------------------------------------------------------------------
// Signing secrets: every call to an integration (output, modifier, tick, slash command) is signed with its
// `whsec_` secret (Standard Webhooks). The secret is shown once, on the result that created it.

const REVEALED = Symbol('revealedSigningSecret');

/** The integration object a mutation returns, carrying the secret just made (not stored, not shown again). */
function revealSigningSecret(integration: Integration, secret: string): Integration {
  Object.defineProperty(integration, REVEALED, { value: secret, enumerable: false, configurable: true });
  return integration;
}

/** The secret in clear, only on the result of the mutation that made it; null everywhere else. */
export function revealedSigningSecret(integration: Integration): string | null {
  return (integration as unknown as Record<symbol, string | undefined>)[REVEALED] ?? null;
}

/** The last four characters of the current signing secret; null when it has none. */
export function signingSecretHint(scope: Pick<Scope, 'deps'>, integration: Integration): string | null {
  return integration.signingSecret ? decryptSecret(scope.deps.config.secretKey, integration.signingSecret).slice(-4) : null;
}

/** The HMAC keys an integration's calls are signed with now: the current secret, and the previous one during its overlap. */
export function integrationSigningKeys(deps: Pick<Deps, 'config'>, integration: Pick<Integration, 'signingSecret' | 'previousSigningSecret' | 'previousSigningSecretExpiresAt'>, now = new Date()): Buffer[] {
  const key = deps.config.secretKey;
  const keys: Buffer[] = [];
  if (integration.signingSecret) keys.push(signingKey(decryptSecret(key, integration.signingSecret)));
  if (integration.previousSigningSecret && integration.previousSigningSecretExpiresAt && integration.previousSigningSecretExpiresAt > now) {
    keys.push(signingKey(decryptSecret(key, integration.previousSigningSecret)));
  }
  return keys;
}

/** The signing keys of an integration by id (the delivery worker's lookup); none when it is gone. */
export async function signingKeysOf(em: EntityManager, deps: Pick<Deps, 'config'>, integrationId: string | null): Promise<Buffer[]> {
  if (!integrationId || !isUuid(integrationId)) return [];
  const integration = await em.findOne(Integration, integrationId, { fields: ['signingSecret', 'previousSigningSecret', 'previousSigningSecretExpiresAt'] });
  return integration ? integrationSigningKeys(deps, integration) : [];
}

const RotateInput = z.object({
  integrationId: z.string(),
  overlapHours: z.number().min(0, 'overlapHours must not be negative').max(720, 'overlapHours is at most 720 (30 days)').optional().nullable(),
});

/**
 * A new signing secret, shown once on the result. Calls carry signatures by both the new and the replaced secret
 * for `overlapHours` (default SIGNING_SECRET_OVERLAP_HOURS, 24), so receivers can switch without losing a call;
 * a secret replaced earlier and still overlapping is dropped at once. Needs the admin role.
 */
export async function rotateIntegrationSigningSecret(scope: Scope, input: z.input<typeof RotateInput>) {
  const data = parseInput(RotateInput, input);
  const integration = await requireIntegration(scope, data.integrationId, 'admin');
  const hours = data.overlapHours ?? scope.deps.config.signingSecretOverlapHours;
  const secret = generateSigningSecret();
  integration.previousSigningSecret = hours > 0 ? integration.signingSecret : null;
  integration.previousSigningSecretExpiresAt = hours > 0 && integration.signingSecret ? new Date(Date.now() + hours * 3_600_000) : null;
  integration.signingSecret = encryptSecret(scope.deps.config.secretKey, secret);
  await scope.em.flush();
  // Channel routes cache the integration (its keys with it): drop them so modifiers sign with the new secret now.
  await scope.deps.hooks.emit('integration.settingsChanged', { organisationId: integration.organisation.id, integrationId: integration.id });
  return revealSigningSecret(integration, secret);
}

/**
 * The spec's `output` entries are the channel selection its author asks for (Telex: "select All
 * Channels or specific channels"), applied once, when the integration is added: an entry with value true
 * labelled "All Channels" (or all, all_channels, *) switches it on for every channel, present and future;
 * one whose label is the name of a channel of the organisation (`#` optional, any letter case) switches
 * it on there. Entries with value false, and labels naming no channel (the template's output_channel_1),
 * change nothing. Afterwards the selection is the admins' (a refreshed spec does not re-apply it).
 */
async function applySpecOutput(scope: Scope, integration: Integration) {
  const wanted = specOutput(integration.spec).filter((o) => o.value);
  if (!wanted.length) return;
  if (wanted.some((o) => isAllChannelsLabel(o.label))) {
    await switchOnEverywhere(scope, integration);
    return;
  }
  const names = new Set(wanted.map((o) => o.label.replace(/^#/, '').trim().toLowerCase()));
  const channels = (await scope.em.find(Channel, { organisation: integration.organisation.id })).filter((c) => names.has(c.name.trim().toLowerCase()));
  await linkChannels(scope, integration, channels);
}

/**
 * Link an integration to channels it is not yet linked to (last in each channel's chain), then announce
 * each new link. Returns the new links.
 */
async function linkChannels(scope: Pick<Scope, 'em' | 'deps'>, integration: Integration, channels: Channel[], retried = false): Promise<ChannelIntegration[]> {
  if (!channels.length) return [];
  const existing = await scope.em.find(ChannelIntegration, { channel: { $in: channels.map((c) => c.id) } });
  const last = new Map<string, number>();
  const linked = new Set<string>();
  for (const l of existing) {
    last.set(l.channel.id, Math.max(last.get(l.channel.id) ?? -1, l.position));
    if (l.integration.id === integration.id) linked.add(l.channel.id);
  }
  const created = channels
    .filter((c) => !linked.has(c.id))
    .map((channel) => scope.em.create(ChannelIntegration, { channel, integration, position: (last.get(channel.id) ?? -1) + 1 }));
  try {
    await scope.em.flush();
  } catch (error) {
    if (!(error instanceof UniqueConstraintViolationException) || retried) throw error;
    // A request racing this one linked some of these channels first: start again from what is stored.
    scope.em.clear();
    const fresh = await scope.em.findOneOrFail(Integration, integration.id);
    return linkChannels(scope, fresh, await scope.em.find(Channel, { id: { $in: channels.map((c) => c.id) } }), true);
  }
  for (const link of created) {
    await scope.deps.hooks.emit('integration.enabled', { organisationId: integration.organisation.id, integrationId: integration.id, channelId: link.channel.id });
  }
  return created;
}

async function switchOnEverywhere(scope: Scope, integration: Integration) {
  integration.allChannels = true;
  await scope.em.flush();
  await linkChannels(scope, integration, await scope.em.find(Channel, { organisation: integration.organisation.id }));
}

/** Switch an integration on for every channel of its organisation, present and future (idempotent). */
export async function enableIntegrationOnAllChannels(scope: Scope, input: { integrationId: string; organisationId?: string }) {
  const integration = await requireIntegration(scope, input.integrationId, 'admin', input.organisationId);
  await switchOnEverywhere(scope, integration);
  return integration;
}

/** Switch an integration off for every channel, and for channels created later. */
export async function disableIntegrationOnAllChannels(scope: Scope, input: { integrationId: string; organisationId?: string }) {
  const integration = await requireIntegration(scope, input.integrationId, 'admin', input.organisationId);
  const links = await scope.em.find(ChannelIntegration, { integration });
  integration.allChannels = false;
  for (const link of links) scope.em.remove(link);
  await scope.em.flush();
  for (const link of links) {
    await scope.deps.hooks.emit('integration.disabled', { organisationId: integration.organisation.id, integrationId: integration.id, channelId: link.channel.id });
  }
  return integration;
}

/** The links of an integration (the channels it is switched on for), oldest first. */
export async function integrationLinks(scope: Scope, integration: Integration) {
  return scope.em.find(ChannelIntegration, { integration }, { orderBy: { createdAt: 'asc', id: 'asc' } });
}

/**
 * A channel created later gets every integration switched on for all channels (wired by buildApp).
 * Returns the unsubscribe function.
 */
export function registerIntegrationHooks(deps: Deps, fork: () => EntityManager) {
  return deps.hooks.on('channel.created', async ({ organisationId, channelId }) => {
    const em = fork();
    const everywhere = await em.find(Integration, { organisation: organisationId, allChannels: true }, { orderBy: { createdAt: 'asc', id: 'asc' } });
    if (!everywhere.length) return;
    const channel = await em.findOne(Channel, { id: channelId });
    if (!channel) return;
    for (const integration of everywhere) await linkChannels({ em, deps }, integration, [channel]);
  });
}

/** The name the integration's own messages appear under: the spec's bot user, else its app name. */
export function botName(integration: Pick<Integration, 'spec' | 'appName'>) {
  return specBotName(integration.spec) ?? integration.appName;
}

/** Re-read the spec (from a new URL when given), keeping settings, channels and credentials. */
export async function refreshIntegration(scope: Scope, input: { id: string; jsonUrl?: string | null; organisationId?: string }) {
  const integration = await requireIntegration(scope, input.id, 'admin', input.organisationId);
  const jsonUrl = input.jsonUrl ? parseInput(z.object({ jsonUrl: Url }), { jsonUrl: input.jsonUrl }).jsonUrl : integration.jsonUrl;
  const parsed = await fetchSpec(scope, jsonUrl);
  if (parsed.integrationType !== integration.integrationType) {
    throw new ValidationError('jsonUrl', `the spec now declares integration_type "${parsed.integrationType}"; it was "${integration.integrationType}": add it as a new integration instead`);
  }
  const { isActive: _keep, ...fields } = parsed;
  scope.em.assign(integration, { ...fields, jsonUrl });
  await scope.em.flush();
  await scope.deps.hooks.emit('integration.settingsChanged', { organisationId: integration.organisation.id, integrationId: integration.id });
  return integration;
}

const UpdateInput = z.object({
  id: z.string(),
  name: z.string().trim().min(1, 'name must not be empty').max(200).optional().nullable(),
  isActive: z.boolean().optional().nullable(),
  authCredential: z.string().max(10_000).optional().nullable(),
  jsonUrl: Url.optional().nullable(),
});

export async function updateIntegration(scope: Scope, input: z.input<typeof UpdateInput> & { organisationId?: string }) {
  const data = parseInput(UpdateInput, input);
  let integration = await requireIntegration(scope, data.id, 'admin', input.organisationId);
  if (data.jsonUrl && data.jsonUrl !== integration.jsonUrl) integration = await refreshIntegration(scope, { id: data.id, jsonUrl: data.jsonUrl });
  if (data.name) integration.name = data.name;
  if (data.isActive != null) integration.isActive = data.isActive;
  if (data.authCredential !== undefined) {
    integration.authCredential = data.authCredential ? encryptSecret(scope.deps.config.secretKey, data.authCredential) : null;
  }
  await scope.em.flush();
  return integration;
}

export async function removeIntegration(scope: Scope, input: { id: string; organisationId?: string }) {
  const integration = await requireIntegration(scope, input.id, 'admin', input.organisationId);
  const links = await scope.em.find(ChannelIntegration, { integration });
  const snapshot = { ...integration };
  const organisationId = integration.organisation.id;
  await scope.em.remove(integration).flush();
  await scope.deps.hooks.emit('integration.removed', {
    organisationId,
    integrationId: snapshot.id,
    channelIds: links.map((l) => l.channel.id),
  });
  return snapshot as Integration;
}

export interface IntegrationFilter {
  type?: IntegrationType | null;
  category?: string | null;
  active?: boolean | null;
  /** true: only the platform's system integrations; false: only those the organisation added (custom). */
  system?: boolean | null;
}

export async function listIntegrations(scope: Scope, organisationId: string, filter: IntegrationFilter = {}) {
  await requireMembership(scope, organisationId);
  if (filter.type && !INTEGRATION_TYPES.includes(filter.type)) {
    throw new ValidationError('type', `type must be one of ${INTEGRATION_TYPES.join(', ')}`);
  }
  return scope.em.find(
    Integration,
    {
      organisation: organisationId,
      ...(filter.type ? { integrationType: filter.type } : {}),
      ...(filter.category ? { integrationCategory: filter.category } : {}),
      ...(filter.active != null ? { isActive: filter.active } : {}),
      ...(filter.system != null ? { isSystemIntegration: filter.system } : {}),
    },
    { orderBy: { createdAt: 'asc', id: 'asc' } },
  );
}

/** The credential as shown to users: masked, never whole. */
export function maskedCredential(scope: Pick<Scope, 'deps'>, integration: Integration) {
  return maskSecret(revealCredential(scope, integration));
}

/** The credential in clear, for outbound calls only. */
export function revealCredential(scope: Pick<Scope, 'deps'>, integration: Integration): string | null {
  return integration.authCredential ? decryptSecret(scope.deps.config.secretKey, integration.authCredential) : null;
}

const EnableInput = z.object({
  integrationId: z.string(),
  channelId: z.string(),
  position: z.number().int('position must be an integer').min(0, 'position must not be negative').optional().nullable(),
});

/** Switch an integration on for a channel (idempotent); `position` orders modifiers (default: last). */
export async function enableIntegration(scope: Scope, input: z.input<typeof EnableInput>) {
  const data = parseInput(EnableInput, input);
  const channel = await requireChannel(scope, data.channelId, 'admin');
  const integration = await requireIntegration(scope, data.integrationId, 'admin');
  if (integration.organisation.id !== channel.organisation.id) throw new NotFoundError('integration', data.integrationId);
  let link = await scope.em.findOne(ChannelIntegration, { channel, integration });
  const created = !link;
  if (!link) {
    const last = await scope.em.findOne(ChannelIntegration, { channel }, { orderBy: { position: 'desc' } });
    link = scope.em.create(ChannelIntegration, { channel, integration, position: data.position ?? (last ? last.position + 1 : 0) });
  } else if (data.position != null) {
    link.position = data.position;
  }
  try {
    await scope.em.flush();
  } catch (error) {
    if (!created || !(error instanceof UniqueConstraintViolationException)) throw error;
    // A request racing this one switched it on first: its link stands (and it announced it), and this
    // call, idempotent, answers with that link.
    scope.em.clear();
    return scope.em.findOneOrFail(ChannelIntegration, { channel: channel.id, integration: integration.id });
  }
  if (created) {
    await scope.deps.hooks.emit('integration.enabled', { organisationId: channel.organisation.id, integrationId: integration.id, channelId: channel.id });
  }
  return link;
}

export async function disableIntegration(scope: Scope, input: { integrationId: string; channelId: string }) {
  const channel = await requireChannel(scope, input.channelId, 'admin');
  const integration = await requireIntegration(scope, input.integrationId, 'admin');
  const link = await scope.em.findOne(ChannelIntegration, { channel, integration });
  if (!link) throw new ConflictError('the integration is not enabled for this channel', 'integrationId');
  // Switched off for one channel, an all-channels integration keeps the others as chosen channels.
  integration.allChannels = false;
  await scope.em.remove(link).flush();
  await scope.deps.hooks.emit('integration.disabled', { organisationId: channel.organisation.id, integrationId: integration.id, channelId: channel.id });
  return link;
}

/** The highest throttle a target can be given, in calls per second. */
export const MAX_PER_SECOND = 1_000;

const DeliveryOptionsInput = z.object({
  integrationId: z.string(),
  channelId: z.string(),
  ordered: z.boolean({ error: 'ordered must be true or false' }).optional().nullable(),
  maxPerSecond: z
    .number({ error: 'maxPerSecond must be a number' })
    .int('maxPerSecond must be a whole number of calls per second')
    .min(1, 'maxPerSecond must be at least 1 (null removes the throttle)')
    .max(MAX_PER_SECOND, `maxPerSecond is at most ${MAX_PER_SECOND}`)
    .optional()
    .nullable(),
});

/**
 * How an integration's queued calls on a channel (an output's, an interval integration's target_url) are sent, for
 * admins: `ordered` (one at a time, in the channel's commit order) and `maxPerSecond` (a throttle shared by the
 * replicas; null removes it). Absent (or null `ordered`) keeps the value in force. Ordering applies to calls committed
 * from now on (within a second on other replicas, whose channel routes are cached that long); the throttle to every
 * attempt from now on. The integration must be switched on for the channel (else ConflictError, as disableIntegration);
 * a modifier's calls are not queued (ValidationError).
 */
export async function setDeliveryOptions(scope: Scope, input: z.input<typeof DeliveryOptionsInput>) {
  const data = parseInput(DeliveryOptionsInput, input);
  const channel = await requireChannel(scope, data.channelId, 'admin');
  const integration = await requireIntegration(scope, data.integrationId, 'admin', channel.organisation.id);
  const link = await scope.em.findOne(ChannelIntegration, { channel, integration });
  if (!link) throw new ConflictError('the integration is not enabled for this channel', 'integrationId');
  if (integration.integrationType === 'modifier') {
    throw new ValidationError('integrationId', "a modifier's calls are made while the message is posted, not queued: ordering and throttling apply to outputs and interval integrations' target_url");
  }
  const ids = { organisationId: channel.organisation.id, channelId: channel.id, integrationId: integration.id };
  await scope.deps.deliveries.setOptions(scope.em, channelIntegrationTarget(ids), { ordered: data.ordered ?? undefined, maxPerSecond: data.maxPerSecond });
  await scope.deps.hooks.emit('delivery.optionsChanged', ids);
  return link;
}

/**
 * Switch an integration off for a channel without a viewer: an output that answered 410 Gone.
 * Returns whether a link was removed.
 */
export async function detachIntegration(em: EntityManager, deps: Scope['deps'], integrationId: string, channelId: string) {
  const link = await em.findOne(ChannelIntegration, { channel: channelId, integration: integrationId }, { populate: ['channel'] });
  if (!link) return false;
  const organisationId = link.channel.organisation.id;
  await em.remove(link).flush();
  await em.nativeUpdate(Integration, { id: integrationId, allChannels: true }, { allChannels: false });
  await deps.hooks.emit('integration.disabled', { organisationId, integrationId, channelId });
  return true;
}

/** Active integrations of a channel in chain order, with no viewer check (the message path). */
export async function activeChannelIntegrations(em: EntityManager, channelId: string, type?: IntegrationType) {
  const links = await em.find(
    ChannelIntegration,
    { channel: channelId, integration: { isActive: true, ...(type ? { integrationType: type } : {}) } },
    { populate: ['integration'], orderBy: { position: 'asc', createdAt: 'asc' } },
  );
  return links;
}

/**
 * ChannelIntegration rows for many channels at once (batched loading, no N+1). Their integrations come in a
 * second query, each once: joined, every link's row carried its integration's spec again, and each copy was
 * hydrated and compared (20 channels with the same 5 integrations: 100 specs for 5).
 */
export async function channelIntegrationsFor(em: EntityManager, channelIds: readonly string[]) {
  const links = await em.find(
    ChannelIntegration,
    { channel: { $in: [...channelIds] } },
    { populate: ['integration'], strategy: 'select-in', orderBy: { position: 'asc', createdAt: 'asc' } },
  );
  return groupBy(channelIds, links, (l) => l.channel.id);
}
