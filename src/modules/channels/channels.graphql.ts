import { builder } from '../../graphql/builder.js';
import { mutationResult } from '../../graphql/errors.js';
import { toConnection } from '../../graphql/pagination.js';
import { OrganisationRef } from '../organisations/organisations.graphql.js';
import type { Channel } from './channel.entity.js';
import { createChannel, deleteChannel, findChannel, listChannels, updateChannel, webhookUrl } from './channels.service.js';

export const ChannelRef = builder.objectRef<Channel>('Channel').implement({
  description: "A stream of messages in an organisation. Messages enter through its webhook URL, `sendMessage` and integrations; its integrations modify and receive them.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The random UUID of the channel; it is also the secret part of `webhookUrl`.' }),
    name: t.exposeString('name', { description: 'Its name, 1 to 200 characters.' }),
    description: t.exposeString('description', { description: 'What the channel is for, up to 2000 characters; empty when none was given.' }),
    webhookUrl: t.string({
      description: 'POST (JSON) or GET (query parameters) messages here. The URL is a capability: share it with care.',
      resolve: (c, _a, ctx) => webhookUrl(ctx.deps.config.publicUrl, c.id),
    }),
    organisationId: t.id({ description: 'The organisation that owns the channel.', resolve: (c) => c.organisation.id }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the channel was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When its name or description last changed.' }),
  }),
});

builder.objectFields(OrganisationRef, (t) => ({
  channels: t.connection(
    {
      type: ChannelRef,
      description: "The organisation's channels, oldest first (members may read them).",
      resolve: async (org, args, ctx) => toConnection(await listChannels(ctx, org.id, args)) as never,
    },
    {
      name: 'ChannelConnection',
      description: "A page of an organisation's channels, oldest first.",
      fields: (c) => ({
        totalCount: c.int({
          nullable: true,
          description: 'How many channels the organisation has in all (not only on this page).',
          resolve: (conn) => (conn as { totalCount?: number }).totalCount ?? null,
        }),
      }),
    },
    { description: 'One channel of the page, with its cursor.' },
  ),
}));

builder.queryField('channel', (t) =>
  t.field({
    type: ChannelRef,
    nullable: true,
    description: 'One channel; null when it does not exist or belongs to an organisation you are not a member of.',
    args: { id: t.arg.id({ required: true, description: 'The UUID of the channel.' }) },
    resolve: (_r, { id }, ctx) => findChannel(ctx, String(id)),
  }),
);

const DeletedChannel = builder.objectRef<{ id: string; organisationId: string }>('DeletedChannel').implement({
  description: 'A channel that was deleted: its ids only, since nothing else of it remains.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The UUID the channel had; its webhook URL now answers 404.' }),
    organisationId: t.exposeID('organisationId', { description: 'The organisation it belonged to.' }),
  }),
});

builder.mutationFields((t) => ({
  createChannel: t.field({
    type: ChannelRef,
    description: 'Create a channel in an organisation. Needs the admin role.',
    errors: mutationResult('The new channel, with its webhookUrl.'),
    args: {
      input: t.arg({
        description: 'The new channel.',
        type: builder.inputType('CreateChannelInput', {
          description: 'A channel to create.',
          fields: (f) => ({
            organisationId: f.id({ required: true, description: 'The UUID of the organisation it belongs to.' }),
            name: f.string({ required: true, description: 'Its name, 1 to 200 characters (trimmed).' }),
            description: f.string({ description: 'What it is for, up to 2000 characters. Default: empty.' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => createChannel(ctx, { ...input, organisationId: String(input.organisationId) }),
  }),
  updateChannel: t.field({
    type: ChannelRef,
    description: 'Rename a channel or change its description. Needs the admin role.',
    errors: mutationResult('The channel as it now is.'),
    args: {
      input: t.arg({
        description: 'The channel and what to change.',
        type: builder.inputType('UpdateChannelInput', {
          description: 'Changes to a channel; absent or null fields keep their value.',
          fields: (f) => ({
            id: f.id({ required: true, description: 'The UUID of the channel.' }),
            name: f.string({ description: 'A new name, 1 to 200 characters.' }),
            description: f.string({ description: 'A new description, up to 2000 characters (an empty string clears it).' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => updateChannel(ctx, { ...input, id: String(input.id), name: input.name ?? undefined }),
  }),
  deleteChannel: t.field({
    type: DeletedChannel,
    description: 'Delete a channel with its messages, settings and integration links. Needs the admin role; cannot be undone.',
    errors: mutationResult('The ids of the deleted channel.'),
    args: {
      input: t.arg({
        description: 'The channel to delete.',
        type: builder.inputType('DeleteChannelInput', {
          description: 'A channel to delete.',
          fields: (f) => ({ id: f.id({ required: true, description: 'The UUID of the channel.' }) }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => deleteChannel(ctx, String(input.id)),
  }),
}));
