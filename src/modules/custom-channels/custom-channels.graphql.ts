import { builder } from '../../graphql/builder.js';
import { mutationErrors } from '../../graphql/errors.js';
import { ChannelRef } from '../channels/channels.graphql.js';
import type { CustomChannelConnection } from './custom-channel.entity.js';
import { channelConnection, connectCustomChannel, disconnectCustomChannel, inboundWebhookUrl } from './custom-channels.service.js';

export const CustomChannelConnectionRef = builder.objectRef<CustomChannelConnection>('CustomChannelConnection').implement({
  description: "A channel's connection to a respond.io-style custom-channel server.",
  fields: (t) => ({
    id: t.exposeID('id'),
    channelId: t.id({ resolve: (c) => c.channel.id }),
    baseUrl: t.exposeString('baseUrl', { description: 'Outbound messages are POSTed to `{baseUrl}/message`.' }),
    tokenHint: t.exposeString('tokenHint', { description: 'The last four characters of the API token.' }),
    webhookUrl: t.string({
      description: 'Where the server pushes inbound messages (with `Authorization: Bearer {API token}`).',
      resolve: (_c, _a, ctx) => inboundWebhookUrl(ctx.deps.config.publicUrl),
    }),
    defaultContactId: t.exposeString('defaultContactId', { nullable: true }),
    lastContactId: t.exposeString('lastContactId', { nullable: true, description: 'The contact that wrote last: outbound messages go to it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const ConnectedCustomChannel = builder.objectRef<{ connection: CustomChannelConnection; apiToken: string }>('ConnectedCustomChannel').implement({
  description: 'A new connection. `apiToken` is shown this once: configure the custom-channel server with it now.',
  fields: (t) => ({
    apiToken: t.exposeString('apiToken'),
    connection: t.field({ type: CustomChannelConnectionRef, resolve: (r) => r.connection }),
  }),
});

const DisconnectedCustomChannel = builder.objectRef<{ id: string; channelId: string }>('DisconnectedCustomChannel').implement({
  fields: (t) => ({ id: t.exposeID('id'), channelId: t.exposeID('channelId') }),
});

builder.objectField(ChannelRef, 'customChannel', (t) =>
  t.field({
    type: CustomChannelConnectionRef,
    nullable: true,
    description: 'The custom-channel server this channel is connected to, if any.',
    resolve: (c, _a, ctx) => channelConnection(ctx, c.id),
  }),
);

builder.mutationFields((t) => ({
  connectCustomChannel: t.field({
    type: ConnectedCustomChannel,
    description: 'Connect a channel to a custom-channel server (channel admins). Connecting again replaces the URL and rotates the API token.',
    errors: mutationErrors,
    args: {
      input: t.arg({
        type: builder.inputType('ConnectCustomChannelInput', {
          fields: (f) => ({ channelId: f.id({ required: true }), baseUrl: f.string({ required: true }), defaultContactId: f.string() }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => connectCustomChannel(ctx, { ...input, channelId: String(input.channelId) }),
  }),
  disconnectCustomChannel: t.field({
    type: DisconnectedCustomChannel,
    description: 'Disconnect a channel from its custom-channel server; its API token stops working at once.',
    errors: mutationErrors,
    args: {
      input: t.arg({ type: builder.inputType('DisconnectCustomChannelInput', { fields: (f) => ({ channelId: f.id({ required: true }) }) }), required: true }),
    },
    resolve: (_r, { input }, ctx) => disconnectCustomChannel(ctx, String(input.channelId)),
  }),
}));
