import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ulidId, timestamps } from '../../infra/columns.js';
import { Channel } from '../channels/channel.entity.js';
import { Organisation } from '../organisations/organisation.entity.js';

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'retried'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * One outbound call attempt (modifier, output, tick, outgoing webhook, custom channel ...): the history
 * users read to see why an integration failed, and the durable queue of pending retries.
 *
 * status: pending (not yet sent; due at nextAttemptAt), succeeded, failed (final), retried (failed and a
 * next attempt row, attempt + 1, was queued). A pending row is claimed by one worker at a time through
 * lockedBy/lockedUntil, so replicas can share the queue and a crashed worker's claims expire.
 */
export const Delivery = defineEntity({
  name: 'Delivery',
  tableName: 'deliveries',
  indexes: [
    { properties: ['channel', 'id'] },
    { properties: ['status', 'nextAttemptAt'] },
    { properties: ['messageId'] },
    // The attempts of one call (replays number theirs after the last one).
    { properties: ['webhookId'] },
    // The head of each ordered target's queue (its first pending call by seq): only ordered pending rows, so the
    // default, unordered path pays nothing for it.
    {
      name: 'deliveries_order_key_seq_index',
      expression: 'create index "deliveries_order_key_seq_index" on "deliveries" ("order_key", "seq", "id") where "order_key" is not null and "status" = \'pending\'',
    },
  ],
  properties: {
    id: ulidId(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    channel: p.manyToOne(Channel).deleteRule('cascade').nullable().index(false),
    kind: p.string(),
    /** The integration id (or outgoing webhook id, custom channel id ...) the call was made for. */
    targetId: p.string().nullable(),
    url: p.text(),
    method: p.string().default('POST'),
    /**
     * The JSON body sent (kept so a retry or a replay sends the same bytes), sealed (`{sealedBody}`, encrypted with
     * SWITCHBOARD_SECRET_KEY): bodies carry tokens (Rocket.Chat outgoing webhooks) and settings. Never exposed. Null
     * on calls made by their caller (modifiers, ticks, slash commands), which are never sent again from their row.
     */
    body: p.json<unknown>().nullable(),
    /** Extra request headers, sealed (`{sealed}`, encrypted with SWITCHBOARD_SECRET_KEY): they may carry credentials. Never exposed. */
    headers: p.json<Record<string, string>>().nullable(),
    attempt: p.integer().default(1),
    /** The retry schedule in ms after each failed attempt; attempt n+1 waits retry[n-1]. */
    retry: p.json<number[]>(),
    status: p.enum([...DELIVERY_STATUSES]),
    statusCode: p.integer().nullable(),
    latencyMs: p.integer().nullable(),
    error: p.text().nullable(),
    /** The start of the answer's body (at most 2 KB), for the history. */
    response: p.text().nullable(),
    nextAttemptAt: p.datetime().nullable(),
    lockedBy: p.string().nullable(),
    lockedUntil: p.datetime().nullable(),
    messageId: p.string().nullable(),
    /**
     * The channel commit sequence number (`Message.seq`) of the message the call carries, for calls written in the
     * message's own transaction (outputs, modifier attempts); null for others. Retries keep it.
     */
    seq: p.bigint('number').nullable(),
    /**
     * The target's key (see health.ts `targetKey`) when the target was ordered as the call was committed: the call is
     * claimed only once it is the first pending call of that key by (`seq`, `id`), so it leaves after every earlier
     * call of the target succeeded or was given up. Null: unordered (the default), sent as soon as it is due.
     */
    orderKey: p.string().length(512).nullable(),
    /**
     * The `webhook-id` the call is signed with (Standard Webhooks' idempotency key): the id of its first attempt's
     * row, carried by every retry. Null on rows written before calls were signed (their own id is used).
     */
    webhookId: p.string().length(26).nullable(),
    /** The id of the request (or job run) that caused the call: retries and background attempts log under it. */
    requestId: p.string().length(128).nullable(),
    /**
     * A replay (replayDelivery, recoverDeliveries): the id of the attempt it sends again. The replay is a new
     * attempt of the same call (same `webhookId`, next attempt number), made once, with the original's sealed
     * request.
     */
    replayOf: p.string().length(26).nullable(),
    ...timestamps(),
  },
});
export type Delivery = InferEntity<typeof Delivery>;
