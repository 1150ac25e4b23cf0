/** The Agenda job behind interval integrations: the same definition whatever the job store. */
import type { MikroORM } from '@mikro-orm/core';
import { CronExpressionParser } from 'cron-parser';
import type { Deps } from '../../context.js';
import type { Scheduler } from '../../infra/scheduler.js';
import { runTick, TICK_JOB, type TickJobData } from './ticks.service.js';

/** Ticks of many integrations may share a slot; each mostly waits on the network. */
export const TICK_CONCURRENCY = 200;

export function defineTickJobs(scheduler: Scheduler, orm: MikroORM, deps: Deps) {
  scheduler.agenda.define<TickJobData>(
    TICK_JOB,
    async (job) => {
      const lateness = slotLateness(job.attrs.repeatInterval, job.attrs.repeatTimezone, job.attrs.lastRunAt);
      if (lateness !== null) deps.metrics.tickLateness.observe(lateness);
      // Agenda computed the next slot before calling us: retries of a failing tick_url stay within this slot.
      const outcome = await runTick({ em: orm.em.fork(), deps }, job.attrs.data, job.attrs.nextRunAt ?? null);
      if (outcome.status !== 'sent') deps.logger.debug({ job: job.attrs._id, ...job.attrs.data, ...outcome }, 'tick not sent');
    },
    // A lock outlives the longest tick (at most 7 attempts of OUTBOUND_TIMEOUT_MS plus 60 s of pauses, and
    // never past the next slot); a replica that dies mid-tick releases its jobs to the others after this long.
    { concurrency: TICK_CONCURRENCY, lockLifetime: 300_000 },
  );
}

/**
 * Seconds between the slot this run belongs to (the latest cron time at or before its start) and its
 * start; null when the job has no crontab. A slot missed while every replica was down shows as late.
 */
export function slotLateness(cron: string | number | undefined, timezone: string | undefined, startedAt: Date | undefined, now = new Date()) {
  if (typeof cron !== 'string') return null;
  const start = startedAt ?? now;
  try {
    const slot = CronExpressionParser.parse(cron, { currentDate: new Date(start.getTime() + 1), ...(timezone ? { tz: timezone } : {}) }).prev();
    return Math.max(0, start.getTime() - slot.getTime()) / 1000;
  } catch {
    return null;
  }
}
