/**
 * Interval integrations: one Agenda job per (integration, channel) on the cron of the effective
 * `interval` setting. The job is scheduled, rescheduled and removed on the domain hooks the
 * integrations, settings and channels services emit, whatever the job store; each tick POSTs the
 * integration's tick_url and the integration posts back to the return URL (ticks.rest.ts).
 */
import { createHmac } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import type { JobWithState } from 'agenda';
import type { Deps, Scope, WorkScope } from '../../context.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.js';
import { safeEqual } from '../../infra/crypto.js';
import type { Scheduler } from '../../infra/scheduler.js';
import { isUuid } from '../auth/auth.service.js';
import { findChannelById } from '../channels/channels.service.js';
import type { Deliveries, RecordInput } from '../deliveries/deliveries.service.js';
import { Batcher } from '../../infra/batcher.js';
import { ChannelIntegration } from '../integrations/channel-integration.entity.js';
import { cronProblem, INTERVAL_LABEL } from '../integrations/integration-spec.js';
import type { Integration } from '../integrations/integration.entity.js';
import { botName, integrationSigningKeys } from '../integrations/integrations.service.js';
import { postMessage } from '../messages/messages.service.js';
import { payloadSettings, settingsInForceFor } from '../settings/settings.service.js';

export const TICK_JOB = 'integration-tick';

export interface TickJobData {
  integrationId: string;
  channelId: string;
}

/** What scheduling and running ticks need: an EntityManager for this unit of work and the app's deps. */

const scheduler = (deps: Deps): Scheduler => deps.scheduler;

const uniqueFor = (d: TickJobData) => ({ 'data.integrationId': d.integrationId, 'data.channelId': d.channelId });

/** The crontab text in force for an interval integration on a channel (channel > organisation > spec). */
export async function intervalFor(em: EntityManager, integration: Integration, channelId: string): Promise<string | null> {
  const [inForce] = await settingsInForceFor(em, [{ integration, channelId }]);
  const value = inForce.find((s) => s.spec.label === INTERVAL_LABEL)?.value;
  return typeof value === 'string' ? value.trim() : null;
}

async function tickJob(deps: Deps, d: TickJobData): Promise<JobWithState | null> {
  const { jobs } = await scheduler(deps).agenda.queryJobs({ name: TICK_JOB, data: { integrationId: d.integrationId, channelId: d.channelId }, limit: 1 });
  return jobs[0] ?? null;
}

/**
 * Bring the tick job of one (integration, channel) in line with the database: scheduled on the cron in
 * force when an active-or-not interval integration is switched on for the channel, removed otherwise.
 * Idempotent: repeating it never makes a second job (the job is unique per pair).
 */
export async function syncTick(ctx: WorkScope, d: TickJobData, options: { knownMissing?: boolean } = {}): Promise<'scheduled' | 'unchanged' | 'removed'> {
  const link = await ctx.em.findOne(ChannelIntegration, { integration: d.integrationId, channel: d.channelId }, { populate: ['integration'] });
  if (!link || link.integration.integrationType !== 'interval') {
    const removed = await scheduler(ctx.deps).agenda.cancel({ name: TICK_JOB, data: { integrationId: d.integrationId, channelId: d.channelId } });
    return removed ? 'removed' : 'unchanged';
  }
  const cron = await intervalFor(ctx.em, link.integration, d.channelId);
  const problem = cronProblem(cron);
  if (problem) {
    // Saving a setting refuses an invalid cron, so this is a spec changed under us: stop ticking and say why.
    ctx.deps.logger.warn({ integrationId: d.integrationId, channelId: d.channelId, problem }, 'interval integration has no valid interval: ticks stopped');
    await scheduler(ctx.deps).agenda.cancel({ name: TICK_JOB, data: { integrationId: d.integrationId, channelId: d.channelId } });
    return 'removed';
  }
  const existing = options.knownMissing ? null : await tickJob(ctx.deps, d);
  if (existing && existing.repeatInterval === cron && !existing.disabled) return 'unchanged';
  await scheduler(ctx.deps)
    .agenda.create<TickJobData>(TICK_JOB, { integrationId: d.integrationId, channelId: d.channelId })
    .unique(uniqueFor(d))
    .repeatEvery(cron!, { skipImmediate: true })
    .save();
  return 'scheduled';
}

/** Re-sync every channel an integration is switched on for (its organisation-level settings changed). */
export async function syncIntegrationTicks(ctx: WorkScope, integrationId: string) {
  const links = await ctx.em.find(ChannelIntegration, { integration: integrationId }, { fields: ['channel'] });
  for (const link of links) await syncTick(ctx, { integrationId, channelId: link.channel.id });
}

export async function cancelTicks(deps: Deps, data: Partial<TickJobData>) {
  return scheduler(deps).agenda.cancel({ name: TICK_JOB, data });
}

/**
 * Make the job store match the database at start: a job for every interval integration switched on for
 * a channel, none for anything else (a store that was changed or emptied, a hook that failed).
 */
export async function reconcileTicks(ctx: WorkScope): Promise<{ scheduled: number; removed: number }> {
  const links = await ctx.em.find(ChannelIntegration, { integration: { integrationType: 'interval' } }, { fields: ['channel', 'integration'] });
  const wanted = new Set(links.map((l) => `${l.integration.id}:${l.channel.id}`));
  const { jobs } = await scheduler(ctx.deps).agenda.queryJobs({ name: TICK_JOB });
  const have = new Set<string>();
  let removed = 0;
  for (const job of jobs) {
    const d = job.data as TickJobData;
    const key = `${d?.integrationId}:${d?.channelId}`;
    if (!wanted.has(key) || have.has(key)) {
      removed += await scheduler(ctx.deps).agenda.cancel({ id: job._id });
      continue;
    }
    have.add(key);
  }
  let scheduled = 0;
  for (const l of links) {
    if (have.has(`${l.integration.id}:${l.channel.id}`)) continue;
    const d = { integrationId: l.integration.id, channelId: l.channel.id };
    if ((await syncTick({ em: ctx.em.fork(), deps: ctx.deps }, d, { knownMissing: true })) === 'scheduled') scheduled++;
  }
  return { scheduled, removed };
}

/** Keep tick jobs in step with the domain: called once per app. */
export function registerTickHooks(deps: Deps, fork: () => EntityManager) {
  const run = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (error) {
      deps.logger.error({ err: error, what }, 'could not update the tick schedule');
    }
  };
  deps.hooks.on('integration.enabled', ({ integrationId, channelId }) => run('enable', () => syncTick({ em: fork(), deps }, { integrationId, channelId })));
  deps.hooks.on('integration.disabled', ({ integrationId, channelId }) => run('disable', () => cancelTicks(deps, { integrationId, channelId })));
  deps.hooks.on('integration.removed', ({ integrationId }) => run('remove', () => cancelTicks(deps, { integrationId })));
  deps.hooks.on('channel.deleted', ({ channelId }) => run('channel deleted', () => cancelTicks(deps, { channelId })));
  deps.hooks.on('integration.settingsChanged', ({ integrationId, channelId }) =>
    run('settings', () => (channelId ? syncTick({ em: fork(), deps }, { integrationId, channelId }) : syncIntegrationTicks({ em: fork(), deps }, integrationId))),
  );
}

// ---------------------------------------------------------------------------------------------------
// The tick

/** `{PUBLIC_URL}/v1/return/{channel_id}` (Telex's form) with a token binding it to the integration. */
export function returnUrl(deps: Deps, d: TickJobData) {
  return `${deps.config.publicUrl}/v1/return/${d.channelId}?token=${returnToken(deps, d)}`;
}

export function returnToken(deps: Pick<Deps, 'config'>, d: TickJobData) {
  const mac = createHmac('sha256', deps.config.secretKey).update(`tick-return:${d.integrationId}:${d.channelId}`).digest('base64url').slice(0, 32);
  return `${d.integrationId}.${mac}`;
}

/** Pause between attempts of one tick; the last one that still fits before the next slot is the last try. */
const RETRY_DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 15_000, 30_000];
/** An attempt is not started when it could not finish before the next slot. */
const SLOT_MARGIN_MS = 250;

export interface TickOutcome {
  status: 'sent' | 'failed' | 'skipped';
  attempts: number;
  reason?: string;
}

/**
 * One tick: POST tick_url with `{channel_id, return_url, settings}` (settings typed, with the values in
 * force). Each attempt is recorded as a Delivery of kind 'tick'. A failing tick_url is retried while the
 * slot lasts (`nextSlotAt`), then waits for the next slot.
 */
export async function runTick(ctx: WorkScope, d: TickJobData, nextSlotAt: Date | null, sleep = defaultSleep): Promise<TickOutcome> {
  const batches = ctx.deps.ticks;
  const target = await batches.targets.add({ em: ctx.em, d });
  if (!target) {
    await cancelTicks(ctx.deps, d);
    return { status: 'skipped', attempts: 0, reason: 'the integration is no longer switched on for the channel' };
  }
  const { link, settings } = target;
  const integration = link.integration;
  if (!integration.isActive) return { status: 'skipped', attempts: 0, reason: 'the integration is inactive' };
  if (!integration.tickUrl) return { status: 'skipped', attempts: 0, reason: 'the integration has no tick_url' };

  const body = { channel_id: d.channelId, return_url: returnUrl(ctx.deps, d), settings };
  const timeoutMs = ctx.deps.config.outbound.timeoutMs;
  let attempts = 0;
  // Every attempt of this tick is signed with the first one's id: the receiver's idempotency key.
  let webhookId: string | null = null;
  for (;;) {
    const remaining = nextSlotAt ? nextSlotAt.getTime() - Date.now() - SLOT_MARGIN_MS : timeoutMs;
    const callId = ctx.deps.deliveries.callId();
    webhookId ??= callId;
    const signing = { id: webhookId, keys: integrationSigningKeys(ctx.deps, integration) };
    const outcome = await ctx.deps.deliveries.send({ url: integration.tickUrl, body, timeoutMs: Math.max(200, Math.min(timeoutMs, remaining)), signing });
    attempts++;
    await batches.attempts.add({
      em: ctx.em,
      input: {
        id: callId,
        webhookId,
        attempt: attempts,
        kind: 'tick',
        organisationId: link.channel.organisation.id,
        channelId: d.channelId,
        targetId: integration.id,
        url: integration.tickUrl,
        body,
        statusCode: outcome.statusCode,
        latencyMs: outcome.latencyMs,
        error: outcome.error,
        response: outcome.body,
      },
    });
    if (outcome.ok) return { status: 'sent', attempts };
    const pause = RETRY_DELAYS_MS[attempts - 1];
    const deadline = nextSlotAt ? nextSlotAt.getTime() - SLOT_MARGIN_MS : Date.now();
    if (pause === undefined || Date.now() + pause >= deadline) {
      ctx.deps.logger.warn({ integrationId: d.integrationId, channelId: d.channelId, attempts, error: outcome.error }, 'tick failed; waiting for the next slot');
      return { status: 'failed', attempts, reason: outcome.error ?? undefined };
    }
    await sleep(pause);
  }
}

// Many ticks share a slot. Their reads (the link with its integration and channel, the settings in force)
// and their Delivery rows are gathered while the event loop turns and done together: a few statements
// per batch instead of several per tick. Nothing is cached between batches, so each tick reads the
// database as it is when the tick runs.

/** Ticks of one slot read and write together: at most this many per statement, a few statements at once. */
const BATCH = { maxBatch: 500, lanes: 4 };

interface TickTarget {
  link: ChannelIntegration;
  settings: ReturnType<typeof payloadSettings>;
}

async function loadTargets(inputs: { em: EntityManager; d: TickJobData }[]): Promise<(TickTarget | null)[]> {
  const em = inputs[0].em.fork();
  const links = await em.find(
    ChannelIntegration,
    { $or: inputs.map(({ d }) => ({ integration: d.integrationId, channel: d.channelId })) },
    { populate: ['integration', 'channel'] },
  );
  const byPair = new Map(links.filter((l) => l.integration.integrationType === 'interval').map((l) => [`${l.integration.id}:${l.channel.id}`, l]));
  const found = [...byPair.values()];
  const inForce = await settingsInForceFor(
    em,
    found.map((l) => ({ integration: l.integration, channelId: l.channel.id })),
  );
  const settings = new Map(found.map((l, i) => [l, payloadSettings(l.integration, inForce[i])]));
  return inputs.map(({ d }) => {
    const link = byPair.get(`${d.integrationId}:${d.channelId}`);
    return link ? { link, settings: settings.get(link)! } : null;
  });
}

declare module '../../context.js' {
  interface Deps {
    /** The batches concurrent ticks share (their reads, and their Delivery rows). */
    ticks: TickBatches;
  }
}

/** One app's tick batches (built by buildApp): the ticks of one slot read and write together. */
export class TickBatches {
  readonly targets = new Batcher(loadTargets, BATCH);
  readonly attempts: Batcher<{ em: EntityManager; input: RecordInput }, void>;

  constructor(deliveries: Deliveries) {
    this.attempts = new Batcher(async (inputs) => {
      const em = inputs[0].em.fork();
      const now = new Date();
      const rows = inputs.map(({ input }) => deliveries.finished(input, now));
      await deliveries.insert(em, rows);
      deliveries.count(rows);
      return inputs.map((): void => undefined);
    }, BATCH);
  }
}

function defaultSleep(ms: number) {
  return new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
}

// ---------------------------------------------------------------------------------------------------
// The post-back

export interface ReturnInput {
  channelId: string;
  token?: string | null;
  fields: Record<string, unknown>;
}

const RETURN_FIELDS = ['message', 'username', 'event_name', 'status'] as const;

/**
 * What an interval integration posts back to its return URL: `{message, username, event_name, status}`
 * (only these four, `message` required), handed to the normal message path as a 'tick' message. The
 * channel id is the capability, as for the channel webhook; a token, when present, must be the one this
 * gateway issued for an integration switched on for this channel.
 */
export async function receiveReturn(ctx: WorkScope, input: ReturnInput) {
  const { fields } = input;
  for (const f of RETURN_FIELDS) {
    const v = fields[f];
    if (v !== undefined && v !== null && typeof v !== 'string' && (f === 'message' || !['number', 'boolean'].includes(typeof v))) {
      throw new ValidationError(f, `${f} must be a string`);
    }
  }
  const message = fields.message;
  if (typeof message !== 'string' || !message.trim()) throw new ValidationError('message', 'message is required');
  if (!isUuid(input.channelId) || !(await findChannelById(ctx, input.channelId))) throw new NotFoundError('channel', input.channelId);

  let integration: Integration | null = null;
  if (input.token != null && input.token !== '') {
    const integrationId = input.token.split('.')[0];
    const expected = isUuid(integrationId) ? returnToken(ctx.deps, { integrationId, channelId: input.channelId }) : '';
    if (!expected || !safeEqual(expected, input.token)) throw new ForbiddenError('token is not valid for this channel');
    const link = await ctx.em.findOne(ChannelIntegration, { integration: integrationId, channel: input.channelId }, { populate: ['integration'] });
    if (!link) throw new ForbiddenError('token belongs to an integration that is no longer switched on for this channel');
    integration = link.integration;
  }
  const text = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
  return postMessage(ctx, {
    channelId: input.channelId,
    message,
    // Without a username, a tokened post-back appears under the integration's bot user.
    username: text(fields.username) || (integration ? botName(integration) : undefined),
    eventName: text(fields.event_name),
    status: text(fields.status),
    payload: fields,
    source: 'tick',
    // The author of a tokened post-back is the integration itself.
    userId: integration?.id ?? null,
  });
}

// ---------------------------------------------------------------------------------------------------
// Reading

export interface TickTimes {
  nextTickAt: Date | null;
  lastTickAt: Date | null;
}

/** Next and last tick of an interval integration on a channel, from the job store. */
export async function tickTimes(scope: Pick<Scope, 'deps'>, d: TickJobData): Promise<TickTimes> {
  const job = await tickJob(scope.deps, d);
  return { nextTickAt: job?.disabled ? null : (job?.nextRunAt ?? null), lastTickAt: job?.lastRunAt ?? null };
}
