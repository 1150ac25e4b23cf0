import { builder } from '../../graphql/builder.js';
import type { GraphQLContext } from '../../graphql/context.js';
import type { ChannelIntegration } from '../integrations/channel-integration.entity.js';
import { ChannelIntegrationRef } from '../integrations/integrations.graphql.js';
import { tickTimes, type TickTimes } from './ticks.service.js';

/** Per operation: one lookup per (integration, channel), shared by its three fields, and one job-store lookup per schedule. */
const cache = new WeakMap<GraphQLContext, { pairs: Map<string, Promise<TickTimes>>; jobs: Map<string, Promise<Date | null>> }>();

function timesOf(link: ChannelIntegration, ctx: GraphQLContext): Promise<TickTimes> | null {
  if (link.integration.integrationType !== 'interval') return null;
  let perOperation = cache.get(ctx);
  if (!perOperation) cache.set(ctx, (perOperation = { pairs: new Map(), jobs: new Map() }));
  const key = `${link.integration.id}:${link.channel.id}`;
  let times = perOperation.pairs.get(key);
  if (!times) perOperation.pairs.set(key, (times = tickTimes(ctx, { integrationId: link.integration.id, channelId: link.channel.id }, perOperation.jobs)));
  return times;
}

builder.objectFields(ChannelIntegrationRef, (t) => ({
  nextTickAt: t.field({
    type: 'DateTime',
    nullable: true,
    description: "Interval integrations: when the next tick is due (the next run of its schedule's job in the job store). Null for other types or when it is not scheduled or paused.",
    resolve: async (link, _a, ctx) => (await timesOf(link, ctx))?.nextTickAt ?? null,
  }),
  lastTickAt: t.field({
    type: 'DateTime',
    nullable: true,
    description: 'Interval integrations: when the last tick started (its slot was claimed). Null before the first one.',
    resolve: async (link, _a, ctx) => (await timesOf(link, ctx))?.lastTickAt ?? null,
  }),
  missedSlots: t.int({
    nullable: true,
    description:
      'Interval integrations: slots of its schedule that passed while no replica was running, since it was switched on. After such a stretch one catch-up tick runs (not one per missed slot); each slot it replaced counts here. Null for other types.',
    resolve: async (link, _a, ctx) => (await timesOf(link, ctx))?.missedSlots ?? null,
  }),
}));
