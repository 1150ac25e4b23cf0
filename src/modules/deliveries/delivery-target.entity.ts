import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { timestamps, uuidId } from '../../infra/columns.js';
import { Organisation } from '../organisations/organisation.entity.js';

export const TARGET_STATES = ['closed', 'open', 'half_open', 'disabled'] as const;
export type TargetState = (typeof TARGET_STATES)[number];

/**
 * The health of one place the queue sends calls to (an integration on a channel, a Rocket.Chat integration's URL, a
 * custom channel): its circuit and why it was disabled. A row exists once a call to it failed; a target without one
 * is healthy (closed, never failed).
 *
 * closed: calls go out. open: after DELIVERY_CIRCUIT_FAILURES failures in a row no call goes out until `openUntil`,
 * then one probe (half_open, until `probeUntil`) decides: success closes it, failure opens it again. disabled: it has
 * failed without a success for DELIVERY_DISABLE_AFTER_HOURS; its calls fail at once until an admin re-enables it.
 * Shared by replicas through the database: state changes are conditional updates on `updatedAt`.
 *
 * It also holds the options an admin set for the target (setDeliveryOptions): `ordered` and `maxPerSecond`; a row
 * exists once they were set, too. Setting them leaves the health columns (and `updatedAt`) alone.
 */
export const DeliveryTarget = defineEntity({
  name: 'DeliveryTarget',
  tableName: 'delivery_targets',
  properties: {
    id: uuidId(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    /** kind|targetId|channelId (or |url for kinds whose URLs are separate targets): what the worker looks it up by. */
    key: p.string().length(512).unique(),
    kind: p.string(),
    targetId: p.string().nullable(),
    channelId: p.string().nullable(),
    url: p.text(),
    state: p.enum([...TARGET_STATES]).default('closed'),
    consecutiveFailures: p.integer().default(0),
    /** The first failure since the last success: the clock of DELIVERY_DISABLE_AFTER_HOURS. */
    failingSince: p.datetime().nullable(),
    openUntil: p.datetime().nullable(),
    probeUntil: p.datetime().nullable(),
    lastError: p.text().nullable(),
    lastErrorAt: p.datetime().nullable(),
    lastSuccessAt: p.datetime().nullable(),
    disabledReason: p.text().nullable(),
    disabledAt: p.datetime().nullable(),
    /** Calls leave one at a time in commit order (see Delivery `orderKey`): applies to calls committed after it was set. */
    ordered: p.boolean().default(false),
    /** At most this many calls per second to the target, counted across replicas (deps.rateLimits); null: no throttle. */
    maxPerSecond: p.integer().nullable(),
    ...timestamps(),
  },
});
export type DeliveryTarget = InferEntity<typeof DeliveryTarget>;
