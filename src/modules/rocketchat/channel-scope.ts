/**
 * Which channels a Rocket.Chat integration posts to and watches. Its `channel` list holds `#name` entries of its
 * organisation, or scopes (`all_public_channels`, `all_private_groups`, `all_direct_messages`) that each mean every
 * channel of the organisation. Channels are looked up through the channels service.
 */
import type { Scope } from '../../context.js';
import { organisationChannels } from '../channels/channels.service.js';
import type { Channel } from '../channels/channel.entity.js';
import type { WebhookIntegration } from './webhook-integration.entity.js';

export const ALL_SCOPES = ['all_public_channels', 'all_private_groups', 'all_direct_messages'] as const;

export const isAllScope = (entry: string) => (ALL_SCOPES as readonly string[]).includes(entry);

/** The names (without `#`) of the `#name` entries of a channel list. */
export const channelNames = (channels: string[]) => channels.filter((c) => c.startsWith('#')).map((c) => c.slice(1));

/** The channels an integration's `channel` list names, in its organisation, oldest first. */
export async function targetChannels(scope: Pick<Scope, 'em'>, integration: Pick<WebhookIntegration, 'channels' | 'organisation'>): Promise<Channel[]> {
  const all = integration.channels.some(isAllScope);
  const names = channelNames(integration.channels);
  if (!all && !names.length) return [];
  return organisationChannels(scope, integration.organisation.id, all ? undefined : names);
}

/** Whether an integration's `channel` list covers a channel of its organisation. */
export function watches(integration: Pick<WebhookIntegration, 'channels'>, channelName: string) {
  return integration.channels.some((c) => isAllScope(c) || c === `#${channelName}`);
}

/**
 * The channels a call asks for (`#name`, a name or a channel id, one or a list), if every one is among
 * the integration's own; null when one is not (or is a direct message, `@user`).
 */
export function ownChannels(own: { id: string; name: string }[], asked: unknown): { id: string; name: string }[] | null {
  const list = Array.isArray(asked) ? asked : [asked];
  const found: { id: string; name: string }[] = [];
  for (const item of list) {
    if (typeof item !== 'string') return null;
    const value = item.trim();
    const match = value.startsWith('#') ? own.find((c) => c.name === value.slice(1)) : own.find((c) => c.id === value || c.name === value);
    if (!match) return null;
    if (!found.includes(match)) found.push(match);
  }
  return found.length ? found : null;
}
