import { builder } from '../../graphql/builder.js';
import { ChannelRef } from '../channels/channels.graphql.js';
import { PageInfo } from '../../graphql/pagination.js';
import type { Delivery } from './delivery.entity.js';
import { listChannelDeliveries } from './deliveries.service.js';

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
