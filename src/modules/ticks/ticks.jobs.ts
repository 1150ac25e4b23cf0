/** The Agenda jobs behind interval integrations: the same definitions whatever the job store. */
import type { MikroORM } from '@mikro-orm/core';
import { CronExpressionParser } from 'cron-parser';
import type { Deps } from '../../context.js';
import type { Scheduler } from '../../infra/scheduler.js';
import { recoverSlot, runSlot, TICK_JOB, TICK_RECOVERY_JOB, type ScheduleJobData } from './ticks.service.js';

/** Distinct schedules whose slots may run at once on one replica. */
export const TICK_CONCURRENCY = 50;

export function defineTickJobs(scheduler: Scheduler, orm: MikroORM, deps: Deps) {
  deps.ticks.attach(orm.em, deps);
  scheduler.agenda.define<ScheduleJobData>(
    TICK_JOB,
    async (job) => {
      const startedAt = job.attrs.lastRunAt?.getTime() ?? Date.now();
      const run = await runSlot({ em: orm.em.fork(), deps }, job.attrs.data.schedule, startedAt);
      deps.logger.debug({ job: job.attrs._id, schedule: job.attrs.data.schedule, ...run, lateness: slotLateness(job.attrs.repeatInterval, job.attrs.repeatTimezone, job.attrs.lastRunAt) }, 'slot ticked');
    },
    // The run claims the slot's pairs, then returns (the ticks, answers and retries go on in deps.ticks):
    // the lock is held for the claim only, so a replica that dies holds the schedule briefly.
    // A run outliving its lock is harmless: a second run of the slot claims nothing.
    { concurrency: TICK_CONCURRENCY, lockLifetime: 10_000 },
  );
  scheduler.agenda.define<ScheduleJobData>(
    TICK_RECOVERY_JOB,
    async (job) => {
      const { resumed, again } = await recoverSlot({ em: orm.em.fork(), deps }, job.attrs.data.schedule);
      // Agenda saves the job's next run after this returns: back while the slot's pairs are still being sent.
      job.attrs.nextRunAt = again;
      if (resumed) deps.logger.debug({ schedule: job.attrs.data.schedule, resumed }, 'ticks of a stopped replica resumed');
    },
    { concurrency: TICK_CONCURRENCY, lockLifetime: 60_000 },
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
