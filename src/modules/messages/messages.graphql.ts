import { builder } from '../../graphql/builder.js';
import { mutationErrors } from '../../graphql/errors.js';
import { PageInfo } from '../../graphql/pagination.js';
import { ChannelRef } from '../channels/channels.graphql.js';
import { channelMessageStream, listMessages, toView, type MessageView } from './messages.service.js';
import { CommandError, sendMessageOrCommand } from './slash-commands.js';

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
  description:
    'A channel message. Its id sorts in creation order on the replica that took it and is the cursor for `messages`; `seq` is its place in the order the channel\'s messages were committed, on every replica, which `channelMessages` follows.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The message id: sortable by creation time, usable as `after`/`before` and to resume `channelMessages`.' }),
    seq: t.float({
      description:
        "The message's number in its channel's commit sequence: 1 for the first message committed to the channel, then 2, 3 … with no gap and no repeat, the same on every replica (a whole number; Float because it may pass 2^31). `channelMessages` delivers in this order and takes it as `after`.",
      resolve: (m) => m.seq,
    }),
    channelId: t.exposeID('channelId', { description: 'The channel it was posted to.' }),
    organisationId: t.exposeID('organisationId', { description: "The channel's organisation." }),
    eventName: t.exposeString('eventName', { description: 'What happened, as the sender named it (`event_name`), e.g. `message` or `Uptime Check`.' }),
    username: t.exposeString('username', { description: 'Who or what sent it, as the sender named it (sendMessage: your user name unless you give one).' }),
    status: t.exposeString('status', { description: 'The outcome the sender reported, e.g. `success` or `error` (free text, up to 255 characters).' }),
    message: t.exposeString('message', { description: 'The text after the modifier chain.' }),
    source: t.exposeString('source', { description: 'webhook, user, tick, integration, rocketchat, custom_channel ...' }),
    userId: t.exposeString('userId', { nullable: true, description: 'The user who sent it with sendMessage, or the `user_id` a webhook caller gave; null otherwise.' }),
    modifiersApplied: t.exposeIDList('modifiersApplied', { description: 'Modifier integrations whose answer replaced the text, in chain order.' }),
    alias: t.string({ nullable: true, description: "The name shown for the author (Rocket.Chat's alias: a script's `username` or `alias`, else the integration's alias).", resolve: (m) => m.alias ?? null }),
    avatar: t.string({ nullable: true, description: 'An avatar image URL shown for this message instead of the author\'s.', resolve: (m) => m.avatar ?? null }),
    emoji: t.string({ nullable: true, description: 'An emoji shown as the avatar of this message, e.g. `:ghost:`.', resolve: (m) => m.emoji ?? null }),
    attachments: t.field({ type: [MessageAttachmentRef], description: "Rocket.Chat attachments (empty for plain messages). An attachments-only message has an empty `message`.", resolve: (m) => records(m.attachments) }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the message was stored.' }),
    recovered: t.boolean({
      nullable: true,
      description:
        "`channelMessages` only, on the first event after a point where continuity is in question (null everywhere else). true on the first event of a subscription resumed with `after`: every committed message after that point was or will be delivered, in commit order, once. false when the server cannot prove that no message was skipped before this one: `after` names no message of the channel (resumed after the last message whose id sorts before it), a sequence number not committed yet (resumed from now), or a number whose message is gone. On false, reload with `messages` if the gap matters.",
      resolve: (m) => m.recovered ?? null,
    }),
  }),
});

const MessageEdge = builder.objectRef<{ node: MessageView; cursor: string }>('MessageEdge').implement({
  description: 'A message of a page, with its cursor.',
  fields: (t) => ({
    node: t.field({ type: MessageRef, description: 'The message.', resolve: (e) => e.node }),
    cursor: t.exposeString('cursor', { description: 'The message id, as a cursor for `after` or `before`.' }),
  }),
});

const MessageConnection = builder.objectRef<{ edges: { node: MessageView; cursor: string }[]; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null } }>('MessageConnection').implement({
  description: "A page of a channel's messages, oldest first; cursors are message ids.",
  fields: (t) => ({
    edges: t.field({ type: [MessageEdge], description: 'The messages of this page, oldest first.', resolve: (c) => c.edges }),
    pageInfo: t.field({ type: PageInfo, description: 'Whether more messages come before or after this page.', resolve: (c) => c.pageInfo }),
  }),
});

/** The page arguments of `messages` (root and Channel): cursors are message ids. */
const MESSAGE_PAGE = {
  first: 'At most this many messages (0 to 100) from the start, or after `after`. Default 50.',
  after: 'A message id (e.g. an endCursor): only messages after it.',
  last: 'At most this many messages (0 to 100) from the end, or just before `before`; used when `first` is not given.',
  before: 'A message id (e.g. a startCursor): only messages before it.',
};

builder.queryField('messages', (t) =>
  t.field({
    type: MessageConnection,
    description: "A channel's messages, oldest first. Cursors are message ids: `after` and `before` accept any message id.",
    args: {
      channelId: t.arg.id({ required: true, description: 'The UUID of the channel (you must be a member of its organisation).' }),
      first: t.arg.int({ description: MESSAGE_PAGE.first }),
      after: t.arg.string({ description: MESSAGE_PAGE.after }),
      last: t.arg.int({ description: MESSAGE_PAGE.last }),
      before: t.arg.string({ description: MESSAGE_PAGE.before }),
    },
    resolve: (_r, args, ctx) => listMessages(ctx, String(args.channelId), args),
  }),
);

builder.objectField(ChannelRef, 'messages', (t) =>
  t.field({
    type: MessageConnection,
    description: "The channel's messages, oldest first (the same as the root `messages` field).",
    args: {
      first: t.arg.int({ description: MESSAGE_PAGE.first }),
      after: t.arg.string({ description: MESSAGE_PAGE.after }),
      last: t.arg.int({ description: MESSAGE_PAGE.last }),
      before: t.arg.string({ description: MESSAGE_PAGE.before }),
    },
    resolve: (c, args, ctx) => listMessages(ctx, c.id, args),
  }),
);

builder.mutationField('sendMessage', (t) =>
  t.field({
    type: MessageRef,
    description:
      "Post a message to a channel as yourself; it takes the same path as a webhook message. Text starting with a slash command of the channel (`/name rest`, see `Channel.commands`) runs it instead: the command text is not stored, the integration's answer is posted as its bot user and returned here; an unknown command, or one that fails or times out, answers `CommandError` (to you only, nothing is posted).",
    errors: { types: [...mutationErrors.types, CommandError], dataField: { description: "The stored message, after the modifier chain. After a slash command: the integration's answer, posted as its bot user." } },
    args: {
      input: t.arg({
        description: 'The message and where it goes.',
        type: builder.inputType('SendMessageInput', {
          description: 'A message to post.',
          fields: (f) => ({
            channelId: f.id({ required: true, description: 'The UUID of the channel; any member of its organisation may post.' }),
            message: f.string({ required: true, description: 'The text, 1 to 65536 characters.' }),
            eventName: f.string({ description: 'What happened, up to 255 characters. Default `message`.' }),
            status: f.string({ description: 'The outcome, up to 255 characters. Default `success`.' }),
            username: f.string({ description: 'The name shown as sender, up to 255 characters. Default: your user name.' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: async (_r, { input }, ctx) => toView(await sendMessageOrCommand(ctx, { ...input, channelId: String(input.channelId) })),
  }),
);

builder.subscriptionField('channelMessages', (t) =>
  t.field({
    type: MessageRef,
    description:
      "Each new message of a channel, in commit order (`seq`), each once, whichever replica committed it or serves this subscription. With `after` (a message id or a `seq`), every committed message after it first, then live ones, with no gap and no duplicate; the first event then carries `recovered` (see `Message.recovered`).",
    authScopes: { authenticated: true },
    args: {
      channelId: t.arg.id({ required: true, description: 'The UUID of the channel (you must be a member of its organisation).' }),
      after: t.arg.string({
        description:
          "Where to resume: the `id` or the `seq` (as decimal digits) of the last message received, e.g. before a reconnect to any replica. First every message committed after it (in commit order, even those with smaller ids committed later), then live ones. `0`: from the channel's first message.",
      }),
    },
    subscribe: (_r, args, ctx) => channelMessageStream(ctx, String(args.channelId), args.after),
    resolve: (m) => m,
  }),
);
