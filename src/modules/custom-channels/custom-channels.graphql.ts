import { builder } from '../../graphql/builder.js';
import { mutationResult } from '../../graphql/errors.js';
import { ChannelRef } from '../channels/channels.graphql.js';
import type { CustomChannelConnection } from './custom-channel.entity.js';
import { channelConnection, connectCustomChannel, disconnectCustomChannel, inboundWebhookUrl } from './custom-channels.service.js';

export const CustomChannelLinkRef = builder.objectRef<CustomChannelConnection>('CustomChannelLink').implement({
  description: "A channel's connection to a respond.io-style custom-channel server.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The UUID of the connection.' }),
    channelId: t.id({ description: 'The connected channel.', resolve: (c) => c.channel.id }),
    baseUrl: t.exposeString('baseUrl', { description: 'Outbound messages are POSTed to `{baseUrl}/message`.' }),
    tokenHint: t.exposeString('tokenHint', { description: 'The last four characters of the API token.' }),
    webhookUrl: t.string({
      description: 'Where the server pushes inbound messages (with `Authorization: Bearer {API token}`).',
      resolve: (_c, _a, ctx) => inboundWebhookUrl(ctx.deps.config.publicUrl),
    }),
    defaultContactId: t.exposeString('defaultContactId', { nullable: true, description: 'The contact outbound messages go to until a contact writes in.' }),
    lastContactId: t.exposeString('lastContactId', { nullable: true, description: 'The contact that wrote last: outbound messages go to it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the channel was first connected.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it was last reconnected or a contact last wrote in.' }),
  }),
});

const ConnectedCustomChannel = builder.objectRef<{ connection: CustomChannelConnection; apiToken: string }>('ConnectedCustomChannel').implement({
  description: 'A new connection. `apiToken` is shown this once: configure the custom-channel server with it now.',
  fields: (t) => ({
    apiToken: t.exposeString('apiToken', { description: 'The API token: the server sends it as `Authorization: Bearer <token>` and Switchboard sends it on outbound calls. Not retrievable later.' }),
    connection: t.field({ type: CustomChannelLinkRef, description: 'The stored connection.', resolve: (r) => r.connection }),
  }),
});

const DisconnectedCustomChannel = builder.objectRef<{ id: string; channelId: string }>('DisconnectedCustomChannel').implement({
  description: 'A removed connection: its ids only.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The UUID the connection had.' }),
    channelId: t.exposeID('channelId', { description: 'The channel that is no longer connected.' }),
  }),
});

builder.objectField(ChannelRef, 'customChannel', (t) =>
  t.field({
    type: CustomChannelLinkRef,
    nullable: true,
    description: 'The custom-channel server this channel is connected to, if any.',
    resolve: (c, _a, ctx) => channelConnection(ctx, c.id),
  }),
);

builder.mutationFields((t) => ({
  connectCustomChannel: t.field({
    type: ConnectedCustomChannel,
    description: 'Connect a channel to a custom-channel server (channel admins). Connecting again replaces the URL and rotates the API token.',
    errors: mutationResult('The connection and its new API token (shown this once).'),
    args: {
      input: t.arg({
        description: 'The channel and the server.',
        type: builder.inputType('ConnectCustomChannelInput', {
          description: 'A channel to connect to a custom-channel server.',
          fields: (f) => ({
            channelId: f.id({ required: true, description: 'The UUID of the channel (needs the admin role).' }),
            baseUrl: f.string({ required: true, description: "The server's http(s) base URL, up to 2000 characters; a trailing slash, and a trailing `/message` (the outbound route itself), are dropped." }),
            defaultContactId: f.string({ description: 'The contact to send outbound messages to before any contact writes in (up to 255 characters).' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => connectCustomChannel(ctx, { ...input, channelId: String(input.channelId) }),
  }),
  disconnectCustomChannel: t.field({
    type: DisconnectedCustomChannel,
    description: 'Disconnect a channel from its custom-channel server; its API token stops working at once.',
    errors: mutationResult('The ids of the removed connection.'),
    args: {
      input: t.arg({
        description: 'The channel to disconnect.',
        type: builder.inputType('DisconnectCustomChannelInput', {
          description: 'A channel to disconnect from its custom-channel server.',
          fields: (f) => ({ channelId: f.id({ required: true, description: 'The UUID of the channel (needs the admin role; ValidationError when it is not connected).' }) }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => disconnectCustomChannel(ctx, String(input.channelId)),
  }),
}));
