import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ulidId, createdAt } from '../../infra/columns.js';
import { Channel } from '../channels/channel.entity.js';
import { Organisation } from '../organisations/organisation.entity.js';

/**
 * A channel message. The id is a ULID (see infra/ulid.ts): it sorts in creation order on the replica
 * that minted it, so it is the cursor for history pages. `seq` is the channel's commit sequence (1, 2,
 * 3 … in the order the messages were committed, whichever replica committed them): subscriptions resume
 * and follow by it, since ids minted on two replicas interleave with commit order.
 */
export const Message = defineEntity({
  name: 'Message',
  tableName: 'messages',
  indexes: [{ properties: ['channel', 'id'] }],
  uniques: [{ properties: ['channel', 'seq'] }],
  properties: {
    id: ulidId(),
    /** The message's place in its channel's commit order: 1 for the first one committed, no gaps. */
    seq: p.bigint('number'),
    channel: p.manyToOne(Channel).deleteRule('cascade').index(false),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    eventName: p.string().default(''),
    username: p.string().default(''),
    status: p.string().default(''),
    message: p.text(),
    /** The payload as it arrived (webhook body or query), unknown fields preserved. */
    payload: p.json<unknown>().nullable(),
    /** webhook | user | tick | integration | rocketchat | custom_channel | ... */
    source: p.string(),
    /** The author: a gateway user id for `user` messages, the sender's own id (webhook `user_id`) otherwise. */
    userId: p.string().nullable(),
    /** Ids of the modifier integrations whose answer replaced the text, in chain order. */
    modifiersApplied: p.json<string[]>(),
    /** Rocket.Chat's shown name for the message (the integration's or the script's alias); the author stays `username`. */
    alias: p.string().nullable(),
    /** Rocket.Chat's avatar URL for the message (set instead of `emoji`, as Rocket.Chat does). */
    avatar: p.text().nullable(),
    /** Rocket.Chat's emoji avatar for the message, e.g. `:ghost:`. */
    emoji: p.string().nullable(),
    /** Rocket.Chat attachment objects as given (title, title_link, text, color, fields, image_url ...), unknown keys kept. */
    attachments: p.json<Record<string, unknown>[]>().nullable(),
    createdAt: createdAt(),
  },
});
export type Message = InferEntity<typeof Message>;

/**
 * The last commit sequence number given in each channel. The group commit takes a channel's row (an
 * upsert adding the batch's count) in the transaction that inserts the messages: the row lock makes
 * commits of one channel follow each other on every replica, so sequence order is commit order and
 * the committed numbers of a channel are always 1..last with no hole.
 */
export const ChannelSequence = defineEntity({
  name: 'ChannelSequence',
  tableName: 'channel_sequences',
  properties: {
    channel: p.manyToOne(Channel).primary().deleteRule('cascade'),
    lastSeq: p.bigint('number'),
  },
});
export type ChannelSequence = InferEntity<typeof ChannelSequence>;
