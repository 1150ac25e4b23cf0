import { builder } from '../../graphql/builder.js';
import { mutationErrors } from '../../graphql/errors.js';
import { ChannelRef } from '../channels/channels.graphql.js';
import { channelMessageStream, listMessages, sendMessage, toView, type MessageView } from './messages.service.js';

export const MessageRef = builder.objectRef<MessageView>('Message').implement({
  description: 'A channel message. Its id sorts in creation order and is the cursor for `messages` and `channelMessages`.',
  fields: (t) => ({
    id: t.exposeID('id'),
    channelId: t.exposeID('channelId'),
    organisationId: t.exposeID('organisationId'),
    eventName: t.exposeString('eventName'),
    username: t.exposeString('username'),
    status: t.exposeString('status'),
    message: t.exposeString('message', { description: 'The text after the modifier chain.' }),
    source: t.exposeString('source', { description: 'webhook, user, tick, integration, rocketchat, custom_channel ...' }),
    userId: t.exposeString('userId', { nullable: true }),
    modifiersApplied: t.exposeIDList('modifiersApplied', { description: 'Modifier integrations whose answer replaced the text, in chain order.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const MessageEdge = builder.objectRef<{ node: MessageView; cursor: string }>('MessageEdge').implement({
  fields: (t) => ({ node: t.field({ type: MessageRef, resolve: (e) => e.node }), cursor: t.exposeString('cursor') }),
});

interface PageInfoShape {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export const IdPageInfo = builder.objectRef<PageInfoShape>('IdPageInfo').implement({
  description: 'Page information for connections whose cursors are the ids of their nodes.',
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage'),
    startCursor: t.exposeString('startCursor', { nullable: true }),
    endCursor: t.exposeString('endCursor', { nullable: true }),
  }),
});

const MessageConnection = builder.objectRef<{ edges: { node: MessageView; cursor: string }[]; pageInfo: PageInfoShape }>('MessageConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [MessageEdge], resolve: (c) => c.edges }),
    pageInfo: t.field({ type: IdPageInfo, resolve: (c) => c.pageInfo }),
  }),
});

builder.queryField('messages', (t) =>
  t.field({
    type: MessageConnection,
    description: "A channel's messages, oldest first. Cursors are message ids: `after` and `before` accept any message id.",
    args: { channelId: t.arg.id({ required: true }), first: t.arg.int(), after: t.arg.string(), last: t.arg.int(), before: t.arg.string() },
    resolve: (_r, args, ctx) => listMessages(ctx, String(args.channelId), args),
  }),
);

builder.objectField(ChannelRef, 'messages', (t) =>
  t.field({
    type: MessageConnection,
    description: "The channel's messages, oldest first (the same as the root `messages` field).",
    args: { first: t.arg.int(), after: t.arg.string(), last: t.arg.int(), before: t.arg.string() },
    resolve: (c, args, ctx) => listMessages(ctx, c.id, args),
  }),
);

builder.mutationField('sendMessage', (t) =>
  t.field({
    type: MessageRef,
    description: 'Post a message to a channel as yourself; it takes the same path as a webhook message.',
    errors: mutationErrors,
    args: {
      input: t.arg({
        type: builder.inputType('SendMessageInput', {
          fields: (f) => ({
            channelId: f.id({ required: true }),
            message: f.string({ required: true }),
            eventName: f.string(),
            status: f.string(),
            username: f.string(),
          }),
        }),
        required: true,
      }),
    },
    resolve: async (_r, { input }, ctx) => toView(await sendMessage(ctx, { ...input, channelId: String(input.channelId) })),
  }),
);

builder.subscriptionField('channelMessages', (t) =>
  t.field({
    type: MessageRef,
    description:
      "Each new message of a channel. With `after` (a message id), every stored message after it first, then live ones, with no gap and no duplicate.",
    authScopes: { authenticated: true },
    args: { channelId: t.arg.id({ required: true }), after: t.arg.string() },
    subscribe: (_r, args, ctx) => channelMessageStream(ctx, String(args.channelId), args.after),
    resolve: (m) => m,
  }),
);
