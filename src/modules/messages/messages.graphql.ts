import { builder } from '../../graphql/builder.js';
import { mutationErrors } from '../../graphql/errors.js';
import { IdPageInfo, type PageInfoShape } from '../../graphql/pagination.js';
import { ChannelRef } from '../channels/channels.graphql.js';
import { channelMessageStream, listMessages, sendMessage, toView, type MessageView } from './messages.service.js';

type Attachment = Record<string, unknown>;

/** A value scripts often send as a number or boolean where Rocket.Chat documents a string: shown as text. */
const text = (value: unknown): string | null =>
  typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : null;
const flag = (value: unknown): boolean | null => (typeof value === 'boolean' ? value : null);
const records = (value: unknown): Attachment[] =>
  Array.isArray(value) ? value.filter((v): v is Attachment => typeof v === 'object' && v !== null && !Array.isArray(v)) : [];

const MessageAttachmentField = builder.objectRef<Attachment>('MessageAttachmentField').implement({
  description: "One row of a Rocket.Chat attachment's `fields` table.",
  fields: (t) => ({
    title: t.string({ nullable: true, description: 'The label of the row.', resolve: (f) => text(f.title) }),
    value: t.string({ nullable: true, description: 'The value of the row (numbers and booleans shown as text).', resolve: (f) => text(f.value) }),
    short: t.boolean({ nullable: true, description: 'Whether the row may sit beside another (half width).', resolve: (f) => flag(f.short) }),
  }),
});

/** The string fields of an attachment: GraphQL name, Rocket.Chat's (snake_case) key, description. */
const ATTACHMENT_TEXT: [string, string, string][] = [
  ['title', 'title', 'The heading of the attachment.'],
  ['titleLink', 'title_link', 'Where the heading links to.'],
  ['text', 'text', 'The body text (Markdown).'],
  ['pretext', 'pretext', 'Text shown above the attachment.'],
  ['fallback', 'fallback', 'Plain text for clients that cannot show the attachment.'],
  ['color', 'color', 'The colour of the bar beside the attachment, e.g. `#764FA5` or `danger`.'],
  ['authorName', 'author_name', 'The author shown at the top.'],
  ['authorLink', 'author_link', 'Where the author name links to.'],
  ['authorIcon', 'author_icon', "The author's icon URL."],
  ['imageUrl', 'image_url', 'An image shown in the attachment.'],
  ['thumbUrl', 'thumb_url', 'A thumbnail shown beside the text.'],
  ['audioUrl', 'audio_url', 'An audio file to play.'],
  ['videoUrl', 'video_url', 'A video to play.'],
  ['messageLink', 'message_link', 'A link to a quoted message.'],
  ['footer', 'footer', 'Small text at the bottom.'],
  ['footerIcon', 'footer_icon', 'The icon beside the footer.'],
  ['ts', 'ts', 'A timestamp shown with the attachment, as given (ISO date or epoch seconds).'],
];

const MessageAttachmentRef = builder.objectRef<Attachment>('MessageAttachment').implement({
  description: "A Rocket.Chat message attachment (Rocket.Chat's own keys in snake_case, here in camelCase). Unknown keys are kept and readable in `raw`.",
  fields: (t) => ({
    ...Object.fromEntries(ATTACHMENT_TEXT.map(([name, key, description]) => [name, t.string({ nullable: true, description, resolve: (a) => text(a[key]) })])),
    titleLinkDownload: t.boolean({ nullable: true, description: 'Whether the heading link is offered as a download.', resolve: (a) => flag(a.title_link_download) }),
    collapsed: t.boolean({ nullable: true, description: 'Whether the attachment starts collapsed.', resolve: (a) => flag(a.collapsed) }),
    fields: t.field({ type: [MessageAttachmentField], description: 'A table of title/value rows.', resolve: (a) => records(a.fields) }),
    raw: t.field({ type: 'JSON', description: 'The attachment as it was posted, unknown keys included.', resolve: (a) => a }),
  }),
});

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
    alias: t.string({ nullable: true, description: "The name shown for the author (Rocket.Chat's alias: a script's `username` or `alias`, else the integration's alias).", resolve: (m) => m.alias ?? null }),
    avatar: t.string({ nullable: true, description: 'An avatar image URL shown for this message instead of the author\'s.', resolve: (m) => m.avatar ?? null }),
    emoji: t.string({ nullable: true, description: 'An emoji shown as the avatar of this message, e.g. `:ghost:`.', resolve: (m) => m.emoji ?? null }),
    attachments: t.field({ type: [MessageAttachmentRef], description: "Rocket.Chat attachments (empty for plain messages). An attachments-only message has an empty `message`.", resolve: (m) => records(m.attachments) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const MessageEdge = builder.objectRef<{ node: MessageView; cursor: string }>('MessageEdge').implement({
  fields: (t) => ({ node: t.field({ type: MessageRef, resolve: (e) => e.node }), cursor: t.exposeString('cursor') }),
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
