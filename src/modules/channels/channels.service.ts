import { z } from 'zod';
import type { Scope } from '../../context.js';
import { NotFoundError } from '../../errors.js';
import { parseInput } from '../../validation.js';
import { isUuid, requireViewer } from '../auth/auth.service.js';
import type { Role } from '../organisations/membership.entity.js';
import { pageOptions, type PageArgs } from '../../pagination.js';
import { requireMembership } from '../organisations/organisations.service.js';
import { Channel } from './channel.entity.js';

export function webhookUrl(publicUrl: string, channelId: string) {
  return `${publicUrl}/v1/webhooks/${channelId}`;
}

/** The channel, if the viewer's role in its organisation is at least `minRole`; NotFound otherwise. */
export async function requireChannel(scope: Scope, channelId: string, minRole: Role = 'member') {
  requireViewer(scope);
  const channel = isUuid(channelId) ? await scope.em.findOne(Channel, { id: channelId }) : null;
  if (!channel) throw new NotFoundError('channel', channelId);
  try {
    await requireMembership(scope, channel.organisation.id, minRole);
  } catch (error) {
    if (error instanceof NotFoundError) throw new NotFoundError('channel', channelId);
    throw error;
  }
  return channel;
}

/** A channel by id with no viewer check: for capability doors (its webhook URL) and background jobs. */
export async function findChannelById(scope: Pick<Scope, 'em'>, channelId: string) {
  return isUuid(channelId) ? scope.em.findOne(Channel, { id: channelId }) : null;
}

/**
 * Channels of these organisations carrying these names (id, name and organisation only), in one query, with no viewer
 * check: the caller has already checked the organisations are the viewer's, or is a background job.
 */
export async function findChannelsByName(scope: Pick<Scope, 'em'>, organisationIds: string[], names: string[]) {
  if (!organisationIds.length || !names.length) return [];
  return scope.em.find(Channel, { organisation: { $in: organisationIds }, name: { $in: names } }, { fields: ['name', 'organisation'] });
}

/** An organisation's channels, all of them or those with the given names, oldest first; no viewer check. */
export async function organisationChannels(scope: Pick<Scope, 'em'>, organisationId: string, names?: string[]) {
  return scope.em.find(Channel, { organisation: organisationId, ...(names ? { name: { $in: names } } : {}) }, { orderBy: { createdAt: 'asc' } });
}

export async function findChannel(scope: Scope, channelId: string) {
  try {
    return await requireChannel(scope, channelId);
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
}

const ChannelFields = {
  name: z.string().trim().min(1, 'name is required').max(200, 'name is at most 200 characters'),
  description: z.string().max(2000, 'description is at most 2000 characters').optional().nullable(),
};
const CreateInput = z.object({ organisationId: z.string(), ...ChannelFields });

export async function createChannel(scope: Scope, input: z.input<typeof CreateInput>) {
  const data = parseInput(CreateInput, input);
  const organisation = await requireMembership(scope, data.organisationId, 'admin');
  const channel = scope.em.create(Channel, { organisation, name: data.name, description: data.description ?? '' });
  await scope.em.flush();
  await scope.deps.hooks.emit('channel.created', { organisationId: organisation.id, channelId: channel.id });
  return channel;
}

const UpdateInput = z.object({ id: z.string(), name: ChannelFields.name.optional(), description: ChannelFields.description });

export async function updateChannel(scope: Scope, input: z.input<typeof UpdateInput>) {
  const data = parseInput(UpdateInput, input);
  const channel = await requireChannel(scope, data.id, 'admin');
  if (data.name !== undefined) channel.name = data.name;
  if (data.description !== undefined && data.description !== null) channel.description = data.description;
  await scope.em.flush();
  return channel;
}

export async function deleteChannel(scope: Scope, id: string) {
  const channel = await requireChannel(scope, id, 'admin');
  const organisationId = channel.organisation.id;
  await scope.em.remove(channel).flush();
  await scope.deps.hooks.emit('channel.deleted', { organisationId, channelId: id });
  return { id, organisationId };
}


/** Relay page of an organisation's channels, oldest first. */
export async function listChannels(scope: Scope, organisationId: string, args: PageArgs) {
  await requireMembership(scope, organisationId);
  return scope.em.findByCursor(
    Channel,
    { organisation: organisationId },
    { ...pageOptions(args), orderBy: { createdAt: 'asc', id: 'asc' }, includeCount: true },
  );
}
