/**
 * Interval integrations. Each (integration, channel) has a row in tick_pairs on the crontab of its
 * `interval` setting in force, and each distinct crontab has one Agenda job, whatever the job store; the
 * job's run claims every pair of its schedule for the slot in bulk and ticks them (one statement per
 * slot instead of a lock and two saves per pair). Rows and jobs follow the domain hooks the
 * integrations, settings and channels services emit. A tick POSTs the integration's tick_url, signed
 * with the slot's idempotency key, and the integration posts back to the return URL (ticks.rest.ts).
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import type { Deps, Scope, WorkScope } from '../../context.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors.js';
import { boolValue, dateValue, jsonValue, placeholders, sqlRows, sqlRun } from '../../infra/sql.js';
import { safeEqual } from '../../infra/crypto.js';
import type { Scheduler } from '../../infra/scheduler.js';
import { MAX_SOCKETS_PER_HOST } from '../../infra/http.js';
import { isUuid } from '../auth/auth.service.js';
import { findChannelById } from '../channels/channels.service.js';
import type { Deliveries, RecordInput } from '../deliveries/deliveries.service.js';
import { Batcher } from '../../infra/batcher.js';
import { ChannelIntegration } from '../integrations/channel-integration.entity.js';
import { cronProblem, INTERVAL_LABEL } from '../integrations/integration-spec.js';
import type { Integration, SettingSpec } from '../integrations/integration.entity.js';
import { botName, integrationSigningKeys } from '../integrations/integrations.service.js';
import { postMessage } from '../messages/messages.service.js';
import { payloadSettings, settingsInForce, settingsInForceFor } from '../settings/settings.service.js';
import { slotAfter, slotOf, slotsBetween, tickKey } from './tick-slots.js';

/** One Agenda job per distinct schedule (crontab); its run ticks every pair on that schedule. */
export const TICK_JOB = 'interval-ticks';
/** One per schedule, set while a slot is being sent: finishes the pairs of a replica that stopped mid-slot. */
export const TICK_RECOVERY_JOB = 'interval-ticks-recovery';
/** The job of one (integration, channel) that earlier versions scheduled; removed at start. */
const LEGACY_TICK_JOB = 'integration-tick';

export interface TickJobData {
  integrationId: string;
  channelId: string;
}

export interface ScheduleJobData {
  schedule: string;
}

const scheduler = (deps: Deps): Scheduler => deps.scheduler;

/** The crontab text in force for an interval integration on a channel (channel > organisation > spec). */
export async function intervalFor(em: EntityManager, integration: Integration, channelId: string): Promise<string | null> {
  const [inForce] = await settingsInForceFor(em, [{ integration, channelId }]);
  return intervalOf(inForce);
}

function intervalOf(inForce: { spec: { label: string }; value: unknown }[]): string | null {
  const value = inForce.find((s) => s.spec.label === INTERVAL_LABEL)?.value;
  return typeof value === 'string' ? value.trim() : null;
}

// ---------------------------------------------------------------------------------------------------
// SQL on tick_pairs: the claims are single conditional statements, so two replicas never claim one row
// for one slot (SQLite serialises writers; PostgreSQL re-checks the WHERE clause on the locked row).

async function schedulePairs(em: EntityManager, schedule: string): Promise<number> {
  const [row] = await sqlRows<{ n: number | string }>(em, 'select count(*) as n from tick_pairs where schedule = ?', [schedule]);
  return Number(row?.n ?? 0);
}

/** Make sure the job of a schedule exists (an existing one is left as it is: its slot, or its pause in Agendash). */
async function ensureScheduleJob(deps: Deps, schedule: string) {
  await scheduler(deps)
    .agenda.create<ScheduleJobData>(TICK_JOB, { schedule })
    .unique({ 'data.schedule': schedule }, { insertOnly: true })
    .repeatEvery(schedule, { skipImmediate: true })
    .save();
}

/**
 * Remove the jobs of schedules no pair uses any more. A pair switched on meanwhile on another replica
 * writes its row before it ensures the job, so counting again after the removal sees it and puts the
 * job back: whichever of the two acts last leaves the store right.
 */
async function dropEmptySchedules(ctx: WorkScope, schedules: Iterable<string>) {
  for (const schedule of new Set(schedules)) {
    if ((await schedulePairs(ctx.em, schedule)) > 0) continue;
    await scheduler(ctx.deps).agenda.cancel({ names: [TICK_JOB, TICK_RECOVERY_JOB], data: { schedule } });
    if ((await schedulePairs(ctx.em, schedule)) > 0) await ensureScheduleJob(ctx.deps, schedule);
  }
}

/**
 * Delete pairs' rows, then the jobs of schedules left without pairs. Rows usually go with their link
 * (the foreign key cascades) before the hook runs, so the schedules to check are those of the job store
 * that no row uses any more: one job-store query, a job per schedule in use.
 */
async function deletePairs(ctx: WorkScope, where: string, params: unknown[]) {
  const gone = await sqlRows<{ schedule: string }>(ctx.em, `select schedule from tick_pairs where ${where}`, params);
  if (gone.length) await sqlRun(ctx.em, `delete from tick_pairs where ${where}`, params);
  const { jobs } = await scheduler(ctx.deps).agenda.queryJobs({ name: TICK_JOB });
  const used = new Set((await sqlRows<{ schedule: string }>(ctx.em, 'select distinct schedule from tick_pairs')).map((r) => r.schedule));
  const unused = jobs.map((j) => (j.data as Partial<ScheduleJobData> | undefined)?.schedule).filter((s): s is string => !!s && !used.has(s));
  await dropEmptySchedules(ctx, [...gone.map((r) => r.schedule), ...unused]);
  return gone.length;
}

/**
 * Bring the tick row of one (integration, channel) in line with the database: present, on the crontab
 * in force, when an interval integration is switched on for the channel, absent otherwise; and its
 * schedule's job present. Idempotent. A new or rescheduled pair starts at the slot before now, so its
 * first tick is the schedule's next slot.
 */
export async function syncTick(ctx: WorkScope, d: TickJobData): Promise<'scheduled' | 'unchanged' | 'removed'> {
  const link = await ctx.em.findOne(ChannelIntegration, { integration: d.integrationId, channel: d.channelId }, { populate: ['integration'] });
  if (!link || link.integration.integrationType !== 'interval') {
    return (await deletePairs(ctx, 'integration_id = ? and channel_id = ?', [d.integrationId, d.channelId])) ? 'removed' : 'unchanged';
  }
  const cron = await intervalFor(ctx.em, link.integration, d.channelId);
  const problem = cronProblem(cron);
  if (problem) {
    // Saving a setting refuses an invalid cron, so this is a spec changed under us: stop ticking and say why.
    ctx.deps.logger.warn({ integrationId: d.integrationId, channelId: d.channelId, problem }, 'interval integration has no valid interval: ticks stopped');
    await deletePairs(ctx, 'link_id = ?', [link.id]);
    return 'removed';
  }
  const schedule = cron!;
  const [existing] = await sqlRows<{ schedule: string }>(ctx.em, 'select schedule from tick_pairs where link_id = ?', [link.id]);
  if (existing?.schedule === schedule) {
    await ensureScheduleJob(ctx.deps, schedule);
    return 'unchanged';
  }
  const from = slotOf(schedule, Date.now());
  if (existing) {
    await sqlRun(ctx.em, `update tick_pairs set schedule = ?, slot_at = ?, state = 'done', claimed_by = null, lease_until = null, attempts = 0 where link_id = ?`, [schedule, from, link.id]);
  } else {
    await sqlRun(
      ctx.em,
      `insert into tick_pairs (link_id, integration_id, channel_id, schedule, slot_at, state, attempts, missed_slots) values (?, ?, ?, ?, ?, 'done', 0, 0)
       on conflict (link_id) do update set schedule = excluded.schedule, slot_at = excluded.slot_at`,
      [link.id, d.integrationId, d.channelId, schedule, from],
    );
  }
  await ensureScheduleJob(ctx.deps, schedule);
  if (existing) await dropEmptySchedules(ctx, [existing.schedule]);
  return 'scheduled';
}

/** Re-sync every channel an integration is switched on for (its organisation-level settings changed). */
export async function syncIntegrationTicks(ctx: WorkScope, integrationId: string) {
  const links = await ctx.em.find(ChannelIntegration, { integration: integrationId }, { fields: ['channel'] });
  for (const link of links) await syncTick(ctx, { integrationId, channelId: link.channel.id });
}

/** Stop the ticks of pairs (by integration, channel or both) whose link is gone. */
export async function cancelTicks(ctx: WorkScope, data: Partial<TickJobData>) {
  const where: string[] = [];
  const params: string[] = [];
  if (data.integrationId) (where.push('integration_id = ?'), params.push(data.integrationId));
  if (data.channelId) (where.push('channel_id = ?'), params.push(data.channelId));
  if (!where.length) return 0;
  return deletePairs(ctx, where.join(' and '), params);
}

/**
 * The crontab in force for every interval integration switched on for a channel, by link id, in three
 * plain queries (no entities: hydrating tens of thousands of integrations would take longer than
 * the rest of the start), decided by the settings rule itself (settingsInForce: channel > organisation
 * > spec). Pairs without a valid crontab are left out, with a warning.
 */
async function intervalsInForce(ctx: WorkScope): Promise<Map<string, { integrationId: string; channelId: string; schedule: string }>> {
  const { em } = ctx;
  const intervalIds = `select id from integrations where integration_type = 'interval'`;
  const [links, orgRows, channelRows] = await Promise.all([
    sqlRows<{ id: string; integration_id: string; channel_id: string; settings_schema: unknown }>(
      em,
      `select ci.id, ci.integration_id, ci.channel_id, i.settings_schema from channel_integrations ci
       join integrations i on i.id = ci.integration_id where i.integration_type = 'interval'`,
    ),
    sqlRows<{ integration_id: string; value: unknown }>(em, `select integration_id, value from integration_settings where label = ? and integration_id in (${intervalIds})`, [INTERVAL_LABEL]),
    sqlRows<{ integration_id: string; channel_id: string; value: unknown }>(
      em,
      `select integration_id, channel_id, value from channel_integration_settings where label = ? and integration_id in (${intervalIds})`,
      [INTERVAL_LABEL],
    ),
  ]);
  const org = new Map(orgRows.map((r) => [r.integration_id, jsonValue(em, r.value)]));
  const chan = new Map(channelRows.map((r) => [`${r.integration_id}:${r.channel_id}`, jsonValue(em, r.value)]));
  const schemas = new Map<string, SettingSpec[]>();
  const one = (has: boolean, value: unknown) => (has ? new Map([[INTERVAL_LABEL, value]]) : new Map<string, unknown>());
  const wanted = new Map<string, { integrationId: string; channelId: string; schedule: string }>();
  // Tens of thousands of pairs share a handful of crontabs: each distinct text is parsed once.
  const problems = new Map<string | null, string | null>();
  const problemOf = (cron: string | null) => (problems.has(cron) ? problems.get(cron)! : problems.set(cron, cronProblem(cron)).get(cron)!);
  for (const l of links) {
    let schema = schemas.get(l.integration_id);
    if (!schema) schemas.set(l.integration_id, (schema = (jsonValue(em, l.settings_schema) as SettingSpec[]).filter((s) => s.label === INTERVAL_LABEL)));
    const pairKey = `${l.integration_id}:${l.channel_id}`;
    const cron = intervalOf(settingsInForce(schema, one(org.has(l.integration_id), org.get(l.integration_id)), one(chan.has(pairKey), chan.get(pairKey))));
    if (problemOf(cron)) {
      ctx.deps.logger.warn({ integrationId: l.integration_id, channelId: l.channel_id }, 'interval integration has no valid interval: not ticking');
      continue;
    }
    wanted.set(l.id, { integrationId: l.integration_id, channelId: l.channel_id, schedule: cron! });
  }
  return wanted;
}

/** Pairs read, written and compared per statement at start. */
const RECONCILE_CHUNK = 500;

/**
 * Make the tick rows and the job store match the database at start: a row for every interval
 * integration switched on for a channel, on the crontab in force, and one job per schedule in use;
 * nothing else (a store that was changed or emptied, a hook that failed, the per-pair jobs of earlier
 * versions). A handful of statements per RECONCILE_CHUNK pairs, and job-store calls per schedule.
 */
export async function reconcileTicks(ctx: WorkScope): Promise<{ scheduled: number; removed: number; pairs: number }> {
  const em = ctx.em;
  const wanted = await intervalsInForce(ctx);
  const have = new Map((await sqlRows<{ link_id: string; schedule: string }>(em, 'select link_id, schedule from tick_pairs')).map((r) => [r.link_id, r.schedule]));
  const now = Date.now();
  const fromOf = new Map<string, number>();
  const from = (schedule: string) => fromOf.get(schedule) ?? fromOf.set(schedule, slotOf(schedule, now)).get(schedule)!;

  const stale = [...have.keys()].filter((id) => !wanted.has(id));
  for (let i = 0; i < stale.length; i += RECONCILE_CHUNK) {
    const chunk = stale.slice(i, i + RECONCILE_CHUNK);
    await sqlRun(em, `delete from tick_pairs where link_id in (${placeholders(chunk.length)})`, chunk);
  }
  const missing = [...wanted].filter(([id]) => !have.has(id));
  for (let i = 0; i < missing.length; i += RECONCILE_CHUNK) {
    const chunk = missing.slice(i, i + RECONCILE_CHUNK);
    await sqlRun(
      em,
      `insert into tick_pairs (link_id, integration_id, channel_id, schedule, slot_at, state, attempts, missed_slots)
       values ${chunk.map(() => `(?, ?, ?, ?, ?, 'done', 0, 0)`).join(', ')} on conflict (link_id) do nothing`,
      chunk.flatMap(([id, w]) => [id, w.integrationId, w.channelId, w.schedule, from(w.schedule)]),
    );
  }
  const moved = new Map<string, string[]>();
  for (const [id, w] of wanted) {
    if (!have.has(id) || have.get(id) === w.schedule) continue;
    const ids = moved.get(w.schedule);
    if (ids) ids.push(id);
    else moved.set(w.schedule, [id]);
  }
  for (const [schedule, ids] of moved) {
    for (let i = 0; i < ids.length; i += RECONCILE_CHUNK) {
      const chunk = ids.slice(i, i + RECONCILE_CHUNK);
      await sqlRun(em, `update tick_pairs set schedule = ?, slot_at = ?, state = 'done', claimed_by = null, lease_until = null, attempts = 0 where link_id in (${placeholders(chunk.length)})`, [schedule, from(schedule), ...chunk]);
    }
  }

  // The job store: one job per schedule in use.
  const schedules = new Set([...wanted.values()].map((w) => w.schedule));
  const agenda = scheduler(ctx.deps).agenda;
  let removed = await agenda.cancel({ name: LEGACY_TICK_JOB });
  const seen = new Set<string>();
  for (const name of [TICK_JOB, TICK_RECOVERY_JOB]) {
    const { jobs } = await agenda.queryJobs({ name });
    for (const job of jobs) {
      const schedule = (job.data as Partial<ScheduleJobData> | undefined)?.schedule;
      const key = `${name}:${schedule}`;
      if (!schedule || !schedules.has(schedule) || seen.has(key)) {
        removed += await agenda.cancel({ id: job._id });
        continue;
      }
      seen.add(key);
    }
  }
  let scheduled = 0;
  for (const schedule of schedules) {
    if (seen.has(`${TICK_JOB}:${schedule}`)) continue;
    await ensureScheduleJob(ctx.deps, schedule);
    scheduled++;
  }
  return { scheduled, removed: removed + stale.length, pairs: wanted.size };
}

/** Keep tick rows and jobs in step with the domain: called once per app. */
export function registerTickHooks(deps: Deps, fork: () => EntityManager) {
  const run = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (error) {
      deps.logger.error({ err: error, what }, 'could not update the tick schedule');
    }
  };
  const scope = () => ({ em: fork(), deps });
  deps.hooks.on('integration.enabled', ({ integrationId, channelId }) => run('enable', () => syncTick(scope(), { integrationId, channelId })));
  deps.hooks.on('integration.disabled', ({ integrationId, channelId }) => run('disable', () => cancelTicks(scope(), { integrationId, channelId })));
  deps.hooks.on('integration.removed', ({ integrationId }) => run('remove', () => cancelTicks(scope(), { integrationId })));
  deps.hooks.on('channel.deleted', ({ channelId }) => run('channel deleted', () => cancelTicks(scope(), { channelId })));
  deps.hooks.on('integration.settingsChanged', ({ integrationId, channelId }) =>
    run('settings', () => (channelId ? syncTick(scope(), { integrationId, channelId }) : syncIntegrationTicks(scope(), integrationId))),
  );
}

// ---------------------------------------------------------------------------------------------------
// The slot: claim every pair of the schedule at once, then tick each

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
/** Claimed pairs whose targets are read per statement, and whose first attempts then start together. */
const FAN_OUT_CHUNK = 500;

export interface TickOutcome {
  status: 'sent' | 'failed' | 'skipped';
  attempts: number;
  reason?: string;
}

interface ClaimedPair {
  link_id: string;
  integration_id: string;
  channel_id: string;
  attempts: number | string;
}

/**
 * The run of a schedule's job for one slot: every pair of the schedule still on an older slot is
 * claimed for this one (a few statements, whatever the number of pairs; slots that passed unrun are
 * counted as missed), then ticked. Returns once the pairs are claimed; their ticks, answers and the
 * retries within the slot go on in the background (deps.ticks), so the schedule's job is free for the
 * next slot at once. A second run of the same slot claims nothing.
 */
export async function runSlot(ctx: WorkScope, schedule: string, startedAt: number): Promise<{ slot: number; claimed: number; missed: number }> {
  const { em, deps } = ctx;
  const runner = deps.ticks;
  const slot = slotOf(schedule, startedAt);
  const nextSlot = slotAfter(schedule, slot);
  const groups = await sqlRows<{ slot_at: number | string; n: number | string }>(
    em,
    'select slot_at, count(*) as n from tick_pairs where schedule = ? and slot_at < ? group by slot_at',
    [schedule, slot],
  );
  let missedTotal = 0;
  const claimed: ClaimedPair[] = [];
  const now = Date.now();
  for (const g of groups) {
    const from = Number(g.slot_at);
    const missed = slotsBetween(schedule, from, slot);
    const rows = await sqlRows<ClaimedPair>(
      em,
      `update tick_pairs set slot_at = ?, state = 'claimed', claimed_by = ?, lease_until = ?, attempts = 0, last_tick_at = ?, missed_slots = missed_slots + ?
       where schedule = ? and slot_at = ? returning link_id, integration_id, channel_id, attempts`,
      [slot, runner.replica, now + runner.leaseMs, now, missed, schedule, from],
    );
    claimed.push(...rows);
    missedTotal += missed * rows.length;
  }
  if (missedTotal) {
    deps.metrics.tickMissedSlots.inc(missedTotal);
    deps.logger.warn({ schedule, slot: new Date(slot).toISOString(), missed: missedTotal }, 'slots passed while no replica ran them: caught up once');
  }
  if (claimed.length) await scheduleRecovery(deps, schedule, now + runner.leaseMs + 1_000);
  runner.fanOut(ctx, claimed, slot, nextSlot);
  return { slot, claimed: claimed.length, missed: missedTotal };
}

async function scheduleRecovery(deps: Deps, schedule: string, at: number) {
  await scheduler(deps)
    .agenda.create<ScheduleJobData>(TICK_RECOVERY_JOB, { schedule })
    .unique({ 'data.schedule': schedule })
    .schedule(new Date(at))
    .save();
}

/**
 * The recovery job of a schedule: the pairs of the current slot still claimed under a lease that ran
 * out (their replica stopped or died mid-slot) are taken over and ticked, going on from the attempts
 * already recorded. While pairs of the slot are still being sent, it comes back when their leases end
 * (`again`: the job's next run, set by the caller on the running job, which Agenda saves after the run).
 */
export async function recoverSlot(ctx: WorkScope, schedule: string): Promise<{ resumed: number; again: Date | null }> {
  const { em, deps } = ctx;
  const runner = deps.ticks;
  const now = Date.now();
  const slot = slotOf(schedule, now);
  const nextSlot = slotAfter(schedule, slot);
  if (nextSlot - now <= SLOT_MARGIN_MS) return { resumed: 0, again: null };
  const rows = await sqlRows<ClaimedPair>(
    em,
    `update tick_pairs set claimed_by = ?, lease_until = ?
     where schedule = ? and state = 'claimed' and slot_at = ? and lease_until < ? returning link_id, integration_id, channel_id, attempts`,
    [runner.replica, now + runner.leaseMs, schedule, slot, now],
  );
  if (rows.length) deps.logger.info({ schedule, slot: new Date(slot).toISOString(), pairs: rows.length }, "taking over a slot's ticks from a replica that stopped");
  const [left] = await sqlRows<{ until: number | string | null }>(
    em,
    `select min(lease_until) as until from tick_pairs where schedule = ? and state = 'claimed' and slot_at = ?`,
    [schedule, slot],
  );
  const until = left?.until == null ? null : Number(left.until);
  const again = until !== null && until + 500 < nextSlot ? new Date(Math.max(until + 500, now + 1_000)) : null;
  runner.fanOut(ctx, rows, slot, nextSlot);
  return { resumed: rows.length, again };
}

/**
 * One pair's tick in a slot: POST tick_url with `{channel_id, return_url, settings}` (settings typed,
 * with the values in force), signed with the slot's idempotency key as `webhook-id`. Each attempt is
 * recorded as a Delivery of kind 'tick'; a failing tick_url is retried while the slot lasts, then waits
 * for the next slot.
 */
async function tickPair(runner: TickBatches, ctx: WorkScope, pair: ClaimedPair, target: TickTarget, slot: number, nextSlot: number): Promise<TickOutcome> {
  const d = { integrationId: pair.integration_id, channelId: pair.channel_id };
  const { integration, settings } = target;
  const claim = { linkId: pair.link_id, slot };
  if (!integration.isActive || !integration.tickUrl) {
    await runner.finish(ctx, claim);
    return { status: 'skipped', attempts: 0, reason: integration.isActive ? 'the integration has no tick_url' : 'the integration is inactive' };
  }
  const body = { channel_id: d.channelId, return_url: returnUrl(ctx.deps, d), settings };
  const timeoutMs = ctx.deps.config.outbound.timeoutMs;
  const webhookId = tickKey(pair.link_id, slot);
  let attempts = Number(pair.attempts);
  if (attempts === 0) ctx.deps.metrics.tickLateness.observe(Math.max(0, Date.now() - slot) / 1000);
  for (;;) {
    // A call's time limit runs from when it has a connection, not from when it joined the queue for one: the
    // slot's ticks leave at most MAX_SOCKETS_PER_HOST at a time (the outbound agent's limit), the others wait here,
    // and the clock is read once the turn has come.
    const release = await runner.sendTurn();
    const remaining = nextSlot - Date.now() - SLOT_MARGIN_MS;
    if (runner.stopping || remaining <= 0) {
      release();
      if (runner.stopping) return { status: 'failed', attempts, reason: 'the gateway is stopping: another replica goes on' };
      await runner.finish(ctx, claim);
      return { status: 'failed', attempts, reason: 'the slot ended' };
    }
    const callId = ctx.deps.deliveries.callId();
    const signing = { id: webhookId, keys: integration.signingKeys };
    const outcome = await ctx.deps.deliveries
      .send({ url: integration.tickUrl, body, timeoutMs: Math.max(200, Math.min(timeoutMs, remaining)), signing })
      .finally(release);
    attempts++;
    const pause = RETRY_DELAYS_MS[attempts - 1];
    const last = outcome.ok || pause === undefined || Date.now() + pause >= nextSlot - SLOT_MARGIN_MS;
    await runner.attempts.add({
      em: ctx.em,
      claim,
      last,
      input: {
        id: callId,
        webhookId,
        attempt: attempts,
        kind: 'tick',
        organisationId: target.organisationId,
        channelId: d.channelId,
        targetId: integration.id,
        url: integration.tickUrl,
        statusCode: outcome.statusCode,
        latencyMs: outcome.latencyMs,
        error: outcome.error,
        response: outcome.body,
      },
    });
    if (outcome.ok) return { status: 'sent', attempts };
    if (last) {
      ctx.deps.logger.warn({ integrationId: d.integrationId, channelId: d.channelId, attempts, error: outcome.error }, 'tick failed; waiting for the next slot');
      return { status: 'failed', attempts, reason: outcome.error ?? undefined };
    }
    await runner.sleep(pause);
  }
}

// Many ticks share a slot. Their reads (the link with its integration and channel, the settings in force)
// and their Delivery rows are gathered while the event loop turns and done together: a few statements
// per batch instead of several per tick. Nothing is cached between slots, so each tick reads the
// database as it is when its slot comes.

/** Ticks of one slot read and write together: at most this many per statement, a few statements at once. */
const BATCH = { maxBatch: 500, lanes: 4 };

interface TickTarget {
  integration: { id: string; isActive: boolean; tickUrl: string | null; signingKeys: Buffer[] };
  organisationId: string;
  settings: ReturnType<typeof payloadSettings>;
}

interface TargetRow {
  link_id: string;
  channel_id: string;
  organisation_id: string;
  id: string;
  is_active: unknown;
  tick_url: string | null;
  spec: unknown;
  settings_schema: unknown;
  signing_secret: string | null;
  previous_signing_secret: string | null;
  previous_signing_secret_expires_at: unknown;
}

/**
 * The targets of a chunk of claimed pairs: one plain join for the links, their interval integrations and
 * their channels' organisations, then the settings in force (two queries). Rows, not entities: hydrating
 * a link, its integration (spec and all) and its channel cost about as much as the tick's call itself at
 * thousands of ticks per slot. Signing keys are opened once per integration of the chunk.
 */
async function loadTargets(em: EntityManager, deps: Pick<Deps, 'config'>, linkIds: string[]): Promise<Map<string, TickTarget>> {
  const rows = await sqlRows<TargetRow>(
    em,
    `select ci.id as link_id, ci.channel_id, c.organisation_id, i.id, i.is_active, i.tick_url, i.spec, i.settings_schema,
            i.signing_secret, i.previous_signing_secret, i.previous_signing_secret_expires_at
     from channel_integrations ci join integrations i on i.id = ci.integration_id join channels c on c.id = ci.channel_id
     where ci.id in (${placeholders(linkIds.length)}) and i.integration_type = 'interval'`,
    linkIds,
  );
  const integrations = new Map<string, { id: string; spec: Record<string, unknown>; settingsSchema: SettingSpec[]; target: TickTarget['integration'] }>();
  for (const r of rows) {
    if (integrations.has(r.id)) continue;
    const keys = integrationSigningKeys(deps, {
      signingSecret: r.signing_secret,
      previousSigningSecret: r.previous_signing_secret,
      previousSigningSecretExpiresAt: dateValue(r.previous_signing_secret_expires_at),
    });
    integrations.set(r.id, {
      id: r.id,
      spec: jsonValue(em, r.spec) as Record<string, unknown>,
      settingsSchema: jsonValue(em, r.settings_schema) as SettingSpec[],
      target: { id: r.id, isActive: boolValue(r.is_active), tickUrl: r.tick_url, signingKeys: keys },
    });
  }
  const pairs = rows.map((r) => ({ integration: integrations.get(r.id)!, channelId: r.channel_id }));
  const inForce = await settingsInForceFor(em, pairs);
  return new Map(
    rows.map((r, i) => [r.link_id, { integration: pairs[i].integration.target, organisationId: r.organisation_id, settings: payloadSettings(pairs[i].integration, inForce[i]) }]),
  );
}

interface Claim {
  linkId: string;
  slot: number;
}

interface AttemptRecord {
  em: EntityManager;
  claim: Claim;
  /** The slot's last attempt (sent, or no retry fits): the pair is done with the slot. */
  last: boolean;
  input: RecordInput;
}

declare module '../../context.js' {
  interface Deps {
    /** The ticks in flight on this replica, and the batches they share (their Delivery rows). */
    ticks: TickBatches;
  }
}

/**
 * One app's ticks in flight (built by buildApp): the claimed pairs of this replica, whose lease it
 * renews while they are being sent, and the batches their attempts are recorded in (the Delivery row
 * and the pair's attempt count in one transaction).
 */
export class TickBatches {
  /** This replica in `claimed_by`. */
  readonly replica = `${process.pid}:${randomUUID()}`;
  leaseMs = 30_000;
  stopping = false;
  readonly attempts: Batcher<AttemptRecord, void>;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly sleepers = new Set<() => void>();
  private heartbeat: NodeJS.Timeout | null = null;
  /** Tick calls on the wire, and those waiting for a turn (sendTurn). */
  private sending = 0;
  private readonly waitingTurns: (() => void)[] = [];
  private root: EntityManager | null = null;
  private logger: Deps['logger'] | null = null;

  constructor(private readonly deliveries: Deliveries) {
    this.attempts = new Batcher(async (inputs) => {
      const em = inputs[0].em.fork();
      const now = new Date();
      const rows = inputs.map(({ input }) => deliveries.finished(input, now));
      await em.transactional(async (tx) => {
        await deliveries.insert(tx, rows);
        for (const last of [true, false]) {
          const bySlot = new Map<number, string[]>();
          for (const r of inputs) {
            if (r.last !== last) continue;
            const ids = bySlot.get(r.claim.slot);
            if (ids) ids.push(r.claim.linkId);
            else bySlot.set(r.claim.slot, [r.claim.linkId]);
          }
          for (const [slot, ids] of bySlot) {
            await sqlRun(
              tx,
              `update tick_pairs set attempts = attempts + 1${last ? `, state = 'done'` : ''}
               where link_id in (${placeholders(ids.length)}) and slot_at = ? and claimed_by = ?`,
              [...ids, slot, this.replica],
            );
          }
        }
      });
      deliveries.count(rows);
      return inputs.map((): void => undefined);
    }, BATCH);
  }

  /** Called once the app's ORM and config exist (defineTickJobs). */
  attach(root: EntityManager, deps: Pick<Deps, 'config' | 'logger'>) {
    this.root = root;
    this.logger = deps.logger;
    this.leaseMs = deps.config.tickLeaseMs;
  }

  /**
   * Tick the claimed pairs in the background: their targets are read a chunk at a time and each one's tick
   * started. The job's run returns at once, so its lock covers the claim only, however many pairs there
   * are; stop() waits for this as for the ticks.
   */
  fanOut(ctx: WorkScope, pairs: ClaimedPair[], slot: number, nextSlot: number) {
    if (!pairs.length) return;
    void this.track(
      this.startTicks(ctx, pairs, slot, nextSlot).catch((error) => this.logger?.error({ err: error, slot: new Date(slot).toISOString() }, "could not start a slot's ticks")),
    );
  }

  private async startTicks(ctx: WorkScope, pairs: ClaimedPair[], slot: number, nextSlot: number) {
    for (let i = 0; i < pairs.length && !this.stopping; i += FAN_OUT_CHUNK) {
      const chunk = pairs.slice(i, i + FAN_OUT_CHUNK);
      const targets = await loadTargets(ctx.em.fork(), ctx.deps, chunk.map((p) => p.link_id));
      for (const pair of chunk) {
        const target = targets.get(pair.link_id);
        // The link went (its row goes with it) or is no longer an interval integration: nothing to send.
        if (!target) {
          void this.track(this.finish(ctx, { linkId: pair.link_id, slot }));
          continue;
        }
        const tick = tickPair(this, ctx, pair, target, slot, nextSlot).then(
          (outcome) => {
            if (outcome.status !== 'sent') this.logger?.debug({ integrationId: pair.integration_id, channelId: pair.channel_id, ...outcome }, 'tick not sent');
          },
          (error) => this.logger?.error({ err: error, integrationId: pair.integration_id, channelId: pair.channel_id }, 'tick failed unexpectedly'),
        );
        void this.track(tick);
      }
      // Let the chunk's calls leave before reading the next one.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** The pair is done with the slot without an attempt (skipped, or the slot ended). */
  async finish(ctx: WorkScope, claim: Claim) {
    await sqlRun(ctx.em.fork(), `update tick_pairs set state = 'done' where link_id = ? and slot_at = ? and claimed_by = ?`, [claim.linkId, claim.slot, this.replica]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    this.renewLeases();
    void p.finally(() => {
      this.inFlight.delete(p);
      if (!this.inFlight.size && this.heartbeat) {
        clearInterval(this.heartbeat);
        this.heartbeat = null;
      }
    });
    return p;
  }

  /** While ticks are in flight, their leases are renewed a few times per lease: one statement for all. */
  private renewLeases() {
    if (this.heartbeat || !this.root) return;
    const root = this.root;
    this.heartbeat = setInterval(() => {
      void sqlRun(root.fork(), `update tick_pairs set lease_until = ? where claimed_by = ? and state = 'claimed'`, [Date.now() + this.leaseMs, this.replica]).catch((error) =>
        this.logger?.warn({ err: error }, 'could not renew the leases of ticks in flight'),
      );
    }, Math.max(100, Math.floor(this.leaseMs / 3)));
    this.heartbeat.unref();
  }

  /** Resolves when a tick may make its call (at most MAX_SOCKETS_PER_HOST at once); call the answer when it is done. */
  sendTurn(): Promise<() => void> {
    const release = () => {
      const next = this.waitingTurns.shift();
      if (next) next();
      else this.sending--;
    };
    if (this.sending < MAX_SOCKETS_PER_HOST) {
      this.sending++;
      return Promise.resolve(release);
    }
    // The turn passes straight from the call that ends to the next waiting one: `sending` stays as it is.
    return new Promise((resolve) => this.waitingTurns.push(() => resolve(release)));
  }

  /** A pause between attempts that ends early when the app stops. */
  sleep(ms: number) {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.sleepers.add(done);
    });
  }

  /**
   * Stop ticking on this replica: no new attempt starts, calls in flight finish and are recorded, and the
   * pairs still claimed are released (their lease ends now), so another replica's recovery job takes
   * them over within the slot.
   */
  async stop() {
    this.stopping = true;
    for (const wake of [...this.sleepers]) wake();
    await Promise.allSettled([...this.inFlight]);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    // Releasing the rows lets another replica take them at once; when the database is already gone the
    // leases still run out (TICK_LEASE_MS), so shutdown goes on.
    if (this.root) {
      await sqlRun(this.root.fork(), `update tick_pairs set lease_until = 0 where claimed_by = ? and state = 'claimed'`, [this.replica]).catch((error: unknown) =>
        this.logger?.warn({ err: error }, 'could not release claimed tick rows on stop; their leases will run out'),
      );
    }
  }
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
  missedSlots: number;
}

/**
 * Next and last tick of an interval integration on a channel, and the slots it missed: the last tick
 * and the missed slots from its row, the next tick from its schedule's job in the job store (null when
 * it is not scheduled or paused). `nextRunAt` is read once per schedule through `jobs`.
 */
export async function tickTimes(scope: Pick<Scope, 'deps' | 'em'>, d: TickJobData, jobs?: Map<string, Promise<Date | null>>): Promise<TickTimes> {
  const [row] = await sqlRows<{ schedule: string; last_tick_at: number | string | null; missed_slots: number | string }>(
    scope.em,
    'select schedule, last_tick_at, missed_slots from tick_pairs where integration_id = ? and channel_id = ?',
    [d.integrationId, d.channelId],
  );
  if (!row) return { nextTickAt: null, lastTickAt: null, missedSlots: 0 };
  let next = jobs?.get(row.schedule);
  if (!next) {
    next = scheduler(scope.deps)
      .agenda.queryJobs({ name: TICK_JOB, data: { schedule: row.schedule }, limit: 1 })
      .then(({ jobs: [job] }) => (job && !job.disabled ? (job.nextRunAt ?? null) : null));
    jobs?.set(row.schedule, next);
  }
  return { nextTickAt: await next, lastTickAt: row.last_tick_at == null ? null : new Date(Number(row.last_tick_at)), missedSlots: Number(row.missed_slots) };
}
