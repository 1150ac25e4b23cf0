import { builder } from '../../graphql/builder.js';
import { mutationResult } from '../../graphql/errors.js';
import { ChannelRef } from '../channels/channels.graphql.js';
import { PageInfo } from '../../graphql/pagination.js';
import type { Delivery } from './delivery.entity.js';
import { listChannelDeliveries, RECOVER_MAX, recoverDeliveries, reenableDeliveryTarget, replayDelivery, type TargetHealthView } from './deliveries.service.js';
import { TARGET_STATES } from './delivery-target.entity.js';

export const DeliveryRef = builder.objectRef<Delivery>('Delivery').implement({
  description: 'One outbound call attempt (modifier, output, tick, outgoing webhook ...): why an integration failed, and when it is tried again.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The delivery id: sortable by creation time; the cursor of `Channel.deliveries`.' }),
    kind: t.exposeString('kind', { description: 'modifier, output, tick, outgoing_webhook, custom_channel ...' }),
    targetId: t.exposeID('targetId', { nullable: true, description: 'The integration (or other target) the call was made for.' }),
    channelId: t.id({ nullable: true, description: 'The channel the call was made for; null for calls outside a channel.', resolve: (d) => d.channel?.id ?? null }),
    url: t.exposeString('url', { description: 'The URL that was (or, while pending, will be) called.' }),
    attempt: t.exposeInt('attempt', { description: 'The attempt number, from 1.' }),
    status: t.exposeString('status', { description: 'pending (due at nextAttemptAt), succeeded, failed (final), or retried (failed; the next attempt is queued).' }),
    statusCode: t.exposeInt('statusCode', { nullable: true, description: 'The HTTP status of the answer; null when there was none (pending, timeout, refused connection, blocked address).' }),
    latencyMs: t.exposeInt('latencyMs', { nullable: true, description: 'How long the call took, in milliseconds; null while pending.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why the attempt failed (timeout, unreachable, blocked private address, non-2xx status ...); null on success or while pending.' }),
    response: t.exposeString('response', { nullable: true, description: 'The start of the answer (at most 2 KB).' }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true, description: 'When a pending attempt is due; null once it was made.' }),
    messageId: t.exposeID('messageId', { nullable: true, description: 'The message the call carried or produced, when there is one.' }),
    webhookId: t.string({
      description: "The call's `webhook-id` (Standard Webhooks' idempotency key): the id of its first attempt, the same on every retry and replay.",
      resolve: (d) => d.webhookId ?? d.id,
    }),
    replayOf: t.exposeID('replayOf', {
      nullable: true,
      description: 'A replay (replayDelivery, recoverDeliveries): the id of the attempt it sent again. Null for attempts the queue made on its own.',
    }),
    requestId: t.exposeString('requestId', { nullable: true, description: 'The id of the request (x-request-id) or job run the call came from: its log lines, retries included, carry it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the attempt was queued.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When its status last changed.' }),
  }),
});

const DeliveryEdge = builder.objectRef<{ node: Delivery; cursor: string }>('DeliveryEdge').implement({
  description: 'A delivery of a page, with its cursor.',
  fields: (t) => ({
    node: t.field({ type: DeliveryRef, description: 'The delivery attempt.', resolve: (e) => e.node }),
    cursor: t.exposeString('cursor', { description: 'The delivery id, as a cursor for `after`.' }),
  }),
});

type Page = Awaited<ReturnType<typeof listChannelDeliveries>>;
const DeliveryConnection = builder.objectRef<Page>('DeliveryConnection').implement({
  description: "A page of a channel's deliveries, newest first; cursors are delivery ids.",
  fields: (t) => ({
    edges: t.field({ type: [DeliveryEdge], description: 'The deliveries of this page, newest first.', resolve: (c) => c.edges }),
    pageInfo: t.field({ type: PageInfo, description: 'Whether older deliveries follow (`hasNextPage`; ask with `after: endCursor`).', resolve: (c) => c.pageInfo }),
  }),
});

builder.objectField(ChannelRef, 'deliveries', (t) =>
  t.field({
    type: DeliveryConnection,
    description: "The channel's outbound calls, newest first: every attempt, with its answer or error.",
    args: {
      first: t.arg.int({ description: 'At most this many deliveries (0 to 100). Default 50.' }),
      after: t.arg.string({ description: 'A delivery id (e.g. the endCursor of the previous page): only older deliveries.' }),
      kind: t.arg.string({ description: 'Only this kind: modifier, output, tick, outgoing_webhook, custom_channel ...' }),
      status: t.arg.string({ description: 'Only this status: pending, succeeded, failed or retried (another value is a validation error).' }),
    },
    resolve: (c, args, ctx) => listChannelDeliveries(ctx, c.id, args),
  }),
);

interface Recovery {
  deliveries: Delivery[];
  remaining: number;
}

const DeliveryRecoveryRef = builder.objectRef<Recovery>('DeliveryRecovery').implement({
  description: 'The calls a recovery sends again: one new attempt each, pending until the worker sends it (at once).',
  fields: (t) => ({
    deliveries: t.field({ type: [DeliveryRef], description: 'The new attempts, oldest call first; each has `replayOf` set to the failed attempt it repeats.', resolve: (r) => r.deliveries }),
    count: t.int({ description: 'How many calls are sent again.', resolve: (r) => r.deliveries.length }),
    remaining: t.exposeInt('remaining', { description: `Failed calls not sent this time (one recovery sends at most ${RECOVER_MAX}); run it again once these are done.` }),
  }),
});

builder.mutationFields((t) => ({
  replayDelivery: t.field({
    type: DeliveryRef,
    description:
      "Send one recorded call again, now and once (no retries), with its original body and headers: a new attempt of the same call (same `webhookId`, so a receiver that deduplicates sees it as the same call, next `attempt` number) whose `replayOf` is the delivery given. It shows in `Channel.deliveries` and `deliveryEvents`. Admins of the delivery's organisation only; a delivery of another organisation is NotFound. Only queued calls (outputs, Rocket.Chat outgoing calls, custom channels) can be replayed; a pending one is a ConflictError.",
    errors: mutationResult('The new attempt, pending: the worker sends it at once; read its outcome in `Channel.deliveries` or `deliveryEvents`.'),
    args: {
      input: t.arg({
        description: 'The delivery to send again.',
        type: builder.inputType('ReplayDeliveryInput', {
          description: 'A recorded call to send again.',
          fields: (f) => ({ deliveryId: f.id({ required: true, description: 'The id of any attempt of the call (`Delivery.id`).' }) }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => replayDelivery(ctx, { deliveryId: String(input.deliveryId) }),
  }),
  recoverDeliveries: t.field({
    type: DeliveryRecoveryRef,
    description: `Send again every call to one target (an integration on a channel, or the channel's custom-channel connection) that failed since a time: each call whose last attempt failed at or after \`since\` and none of whose attempts succeeded or is pending is replayed once, as replayDelivery does, oldest first, at most ${RECOVER_MAX} per recovery. Admins of the channel's organisation only.`,
    errors: mutationResult('The new attempts, and how many failed calls are left for another run.'),
    args: {
      input: t.arg({
        description: 'The target, and since when.',
        type: builder.inputType('RecoverDeliveriesInput', {
          description: 'The failed calls of one target to send again.',
          fields: (f) => ({
            channelId: f.id({ required: true, description: 'The UUID of the channel.' }),
            integrationId: f.id({ required: true, description: 'The integration (`Delivery.targetId`: an integration, a Rocket.Chat integration or a custom channel connection) whose calls to send again.' }),
            since: f.field({ type: 'DateTime', required: true, description: 'Calls that failed at or after this time (not in the future).' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => recoverDeliveries(ctx, { channelId: String(input.channelId), integrationId: String(input.integrationId), since: input.since as Date }),
  }),
}));

const TARGET_STATE_TEXT: Record<Uppercase<(typeof TARGET_STATES)[number]>, { description: string }> = {
  CLOSED: { description: 'Calls go out (the target is healthy, or failing fewer times in a row than DELIVERY_CIRCUIT_FAILURES).' },
  OPEN: { description: 'It failed DELIVERY_CIRCUIT_FAILURES times in a row: no call goes out until `openUntil` (DELIVERY_CIRCUIT_COOLDOWN_SECONDS); calls wait, they are not lost.' },
  HALF_OPEN: { description: 'The cool-down is over and one probe call is on its way: success closes the circuit, failure opens it again.' },
  DISABLED: { description: 'It failed without a success for DELIVERY_DISABLE_AFTER_HOURS: its calls fail at once, unsent, until an admin re-enables it (reenableDeliveryTarget).' },
};
export const DeliveryTargetStateEnum = builder.enumType('DeliveryTargetState', {
  description: "A delivery target's circuit.",
  values: TARGET_STATE_TEXT,
});

export const DeliveryHealthRef = builder.objectRef<TargetHealthView>('DeliveryHealth').implement({
  description: "The health of one delivery target (an integration's queued calls on a channel): its circuit, why it is disabled, and how its calls fared over the last 24 hours.",
  fields: (t) => ({
    state: t.field({ type: DeliveryTargetStateEnum, description: 'The circuit: CLOSED, OPEN, HALF_OPEN or DISABLED.', resolve: (h) => h.state.toUpperCase() as never }),
    consecutiveFailures: t.exposeInt('consecutiveFailures', { description: 'Failed attempts since the last success.' }),
    failingSince: t.expose('failingSince', { type: 'DateTime', nullable: true, description: 'The first failure since the last success; null while healthy. The clock of DELIVERY_DISABLE_AFTER_HOURS.' }),
    openUntil: t.expose('openUntil', { type: 'DateTime', nullable: true, description: 'While OPEN: when the probe call is made.' }),
    failureRate: t.float({
      nullable: true,
      description: 'Failed attempts over all attempts of the last 24 hours (0 to 1); null when there were none.',
      resolve: (h) => (h.attempts ? h.failures / h.attempts : null),
    }),
    attempts: t.exposeInt('attempts', { description: 'Attempts made in the last 24 hours.' }),
    failures: t.exposeInt('failures', { description: 'Of those, the failed ones.' }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Why the last failed attempt failed (status, timeout, unreachable ...).' }),
    lastErrorAt: t.expose('lastErrorAt', { type: 'DateTime', nullable: true, description: 'When the last attempt failed.' }),
    lastSuccessAt: t.expose('lastSuccessAt', { type: 'DateTime', nullable: true, description: 'The last success after a failure (successes of a healthy target are not written down).' }),
    disabledReason: t.exposeString('disabledReason', { nullable: true, description: 'While DISABLED: why (since when it failed, and its last error).' }),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true, description: 'While DISABLED: since when.' }),
  }),
});

builder.mutationFields((t) => ({
  reenableDeliveryTarget: t.field({
    type: DeliveryHealthRef,
    description:
      "Re-enable an integration's calls on a channel after it was disabled (or close its open circuit now): its failure count starts again from zero. Calls that failed meanwhile stay failed: send them again with recoverDeliveries. Admins of the channel's organisation only.",
    errors: mutationResult('The health of the target, now CLOSED.'),
    args: {
      input: t.arg({
        description: 'The integration and the channel.',
        type: builder.inputType('ReenableDeliveryTargetInput', {
          description: 'A delivery target to re-enable.',
          fields: (f) => ({
            channelId: f.id({ required: true, description: 'The UUID of the channel.' }),
            integrationId: f.id({ required: true, description: 'The UUID of the integration.' }),
          }),
        }),
        required: true,
      }),
    },
    resolve: (_r, { input }, ctx) => reenableDeliveryTarget(ctx, { channelId: String(input.channelId), integrationId: String(input.integrationId) }),
  }),
}));
