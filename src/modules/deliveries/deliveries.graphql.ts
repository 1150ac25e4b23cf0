import { builder } from '../../graphql/builder.js';
import { ChannelRef } from '../channels/channels.graphql.js';
import { IdPageInfo } from '../../graphql/pagination.js';
import type { Delivery } from './delivery.entity.js';
import { listChannelDeliveries } from './deliveries.service.js';

export const DeliveryRef = builder.objectRef<Delivery>('Delivery').implement({
  description: 'One outbound call attempt (modifier, output, tick, outgoing webhook ...): why an integration failed, and when it is tried again.',
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.exposeString('kind', { description: 'modifier, output, tick, outgoing_webhook, custom_channel ...' }),
    targetId: t.exposeID('targetId', { nullable: true, description: 'The integration (or other target) the call was made for.' }),
    channelId: t.id({ nullable: true, resolve: (d) => d.channel?.id ?? null }),
    url: t.exposeString('url'),
    attempt: t.exposeInt('attempt', { description: 'The attempt number, from 1.' }),
    status: t.exposeString('status', { description: 'pending (due at nextAttemptAt), succeeded, failed (final), or retried (failed; the next attempt is queued).' }),
    statusCode: t.exposeInt('statusCode', { nullable: true }),
    latencyMs: t.exposeInt('latencyMs', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    response: t.exposeString('response', { nullable: true, description: 'The start of the answer (at most 2 KB).' }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true }),
    messageId: t.exposeID('messageId', { nullable: true }),
    requestId: t.exposeString('requestId', { nullable: true, description: 'The id of the request (x-request-id) or job run the call came from: its log lines, retries included, carry it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const DeliveryEdge = builder.objectRef<{ node: Delivery; cursor: string }>('DeliveryEdge').implement({
  fields: (t) => ({ node: t.field({ type: DeliveryRef, resolve: (e) => e.node }), cursor: t.exposeString('cursor') }),
});

type Page = Awaited<ReturnType<typeof listChannelDeliveries>>;
const DeliveryConnection = builder.objectRef<Page>('DeliveryConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [DeliveryEdge], resolve: (c) => c.edges }),
    pageInfo: t.field({ type: IdPageInfo, resolve: (c) => c.pageInfo }),
  }),
});

builder.objectField(ChannelRef, 'deliveries', (t) =>
  t.field({
    type: DeliveryConnection,
    description: "The channel's outbound calls, newest first: every attempt, with its answer or error.",
    args: { first: t.arg.int(), after: t.arg.string(), kind: t.arg.string(), status: t.arg.string() },
    resolve: (c, args, ctx) => listChannelDeliveries(ctx, c.id, args),
  }),
);
