import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ChannelIntegration } from '../integrations/channel-integration.entity.js';

/**
 * The tick state of one interval integration switched on for one channel (one row per
 * ChannelIntegration, removed with it). One Agenda job per distinct `schedule` drives the ticks; its run
 * claims the rows of its schedule for the slot in bulk. The row and its `slotAt` are the idempotency key
 * of the slot's tick (sent as `webhook-id`, see tick-slots.ts tickKey): a row is claimed for a slot only
 * while its `slotAt` is older, so a second run of the same slot (another replica, a retried job) finds
 * nothing to send.
 * Instants are epoch milliseconds, as in the job store, so the claims compare plain integers.
 */
export const TickPair = defineEntity({
  name: 'TickPair',
  tableName: 'tick_pairs',
  indexes: [
    // A slot's claim: every row of a schedule older than the slot.
    { properties: ['schedule', 'slotAt'] },
    // Taking over the rows of a replica that stopped renewing its lease.
    { properties: ['schedule', 'state', 'leaseUntil'] },
  ],
  properties: {
    link: () => p.oneToOne(ChannelIntegration).primary().owner().deleteRule('cascade'),
    integrationId: p.uuid(),
    channelId: p.uuid().index(),
    /** The crontab in force for the pair (channel > organisation > spec). */
    schedule: p.string(),
    /** The slot last claimed; when switched on (or rescheduled), the slot before that moment. */
    slotAt: p.bigint('number'),
    /** `claimed` while the slot's tick is being sent (under a lease), then `done`. */
    state: p.string().length(8).default('done'),
    claimedBy: p.string().nullable(),
    leaseUntil: p.bigint('number').nullable(),
    /** Attempts made for the slot so far (a replica taking over goes on counting). */
    attempts: p.integer().default(0),
    /** When the pair's last tick started (its first attempt). */
    lastTickAt: p.bigint('number').nullable(),
    /** Slots that passed without a run (every replica down): each stretch is caught up by one run. */
    missedSlots: p.integer().default(0),
  },
});
export type TickPair = InferEntity<typeof TickPair>;
