import { builder } from '../../graphql/builder.js';
import { mutationErrors } from '../../graphql/errors.js';
import { toConnection } from '../../graphql/pagination.js';
import { OrganisationRef } from '../organisations/organisations.graphql.js';
import type { Channel } from './channel.entity.js';
import { createChannel, deleteChannel, findChannel, listChannels, updateChannel, webhookUrl } from './channels.service.js';

export const ChannelRef = builder.objectRef<Channel>('Channel').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    webhookUrl: t.string({
      description: 'POST (JSON) or GET (query parameters) messages here. The URL is a capability: share it with care.',
      resolve: (c, _a, ctx) => webhookUrl(ctx.deps.config.publicUrl, c.id),
    }),
    organisationId: t.id({ resolve: (c) => c.organisation.id }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.objectFields(OrganisationRef, (t) => ({
  channels: t.connection(
    {
      type: ChannelRef,
      description: 'Channels, oldest first.',
      resolve: async (org, args, ctx) => toConnection(await listChannels(ctx, org.id, args)) as never,
    },
    { name: 'ChannelConnection', fields: (c) => ({ totalCount: c.int({ nullable: true, resolve: (conn) => (conn as { totalCount?: number }).totalCount ?? null }) }) },
  ),
}));

builder.queryField('channel', (t) =>
  t.field({ type: ChannelRef, nullable: true, args: { id: t.arg.id({ required: true }) }, resolve: (_r, { id }, ctx) => findChannel(ctx, String(id)) }),
);

const DeletedChannel = builder.objectRef<{ id: string; organisationId: string }>('DeletedChannel').implement({
  fields: (t) => ({ id: t.exposeID('id'), organisationId: t.exposeID('organisationId') }),
});

builder.mutationFields((t) => ({
  createChannel: t.field({
    type: ChannelRef,
    errors: mutationErrors,
    args: {
      input: t.arg({
        type: builder.inputType('CreateChannelInput', {
          fields: (f) => ({ organisationId: f.id({ required: true }), name: f.string({ required: true }), description: f.string() }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => createChannel(ctx, { ...input, organisationId: String(input.organisationId) }),
  }),
  updateChannel: t.field({
    type: ChannelRef,
    description: 'Rename a channel or change its description.',
    errors: mutationErrors,
    args: {
      input: t.arg({
        type: builder.inputType('UpdateChannelInput', { fields: (f) => ({ id: f.id({ required: true }), name: f.string(), description: f.string() }) }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => updateChannel(ctx, { ...input, id: String(input.id), name: input.name ?? undefined }),
  }),
  deleteChannel: t.field({
    type: DeletedChannel,
    description: 'Delete a channel with its messages, settings and integration links.',
    errors: mutationErrors,
    args: { input: t.arg({ type: builder.inputType('DeleteChannelInput', { fields: (f) => ({ id: f.id({ required: true }) }) }), required: true }) },
    resolve: (_r, { input }, ctx) => deleteChannel(ctx, String(input.id)),
  }),
}));
