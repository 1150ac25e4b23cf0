import { builder } from '../../graphql/builder.js';
import type { GraphQLContext } from '../../graphql/context.js';
import type { ChannelIntegration } from '../integrations/channel-integration.entity.js';
import { ChannelIntegrationRef } from '../integrations/integrations.graphql.js';
import { tickTimes, type TickTimes } from './ticks.service.js';

/** One job-store lookup per (integration, channel) and operation, shared by nextTickAt and lastTickAt. */
const cache = new WeakMap<GraphQLContext, Map<string, Promise<TickTimes>>>();

function timesOf(link: ChannelIntegration, ctx: GraphQLContext): Promise<TickTimes> | null {
  if (link.integration.integrationType !== 'interval') return null;
  let perOperation = cache.get(ctx);
  if (!perOperation) cache.set(ctx, (perOperation = new Map()));
  const key = `${link.integration.id}:${link.channel.id}`;
  let times = perOperation.get(key);
  if (!times) perOperation.set(key, (times = tickTimes(ctx, { integrationId: link.integration.id, channelId: link.channel.id })));
  return times;
}

builder.objectFields(ChannelIntegrationRef, (t) => ({
  nextTickAt: t.field({
    type: 'DateTime',
    nullable: true,
    description: "Interval integrations: when the next tick is due (from the job store). Null for other types or when it is not scheduled.",
    resolve: async (link, _a, ctx) => (await timesOf(link, ctx))?.nextTickAt ?? null,
  }),
  lastTickAt: t.field({
    type: 'DateTime',
    nullable: true,
    description: 'Interval integrations: when the last tick started. Null before the first one.',
    resolve: async (link, _a, ctx) => (await timesOf(link, ctx))?.lastTickAt ?? null,
  }),
}));
