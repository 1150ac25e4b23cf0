import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * One Agenda job in the gateway's own database (the embedded job store). Instants are stored as epoch
 * milliseconds so that the locking queries compare plain integers on SQLite and PostgreSQL alike.
 * `uniqueKey` carries Agenda's unique constraint (`.unique({...})`, or the name for `every()` jobs) so
 * that the database itself refuses a second job for the same key, even when two replicas race.
 */
export const AgendaJob = defineEntity({
  name: 'AgendaJob',
  tableName: 'agenda_jobs',
  indexes: [
    { properties: ['name', 'nextRunAt'] },
    // Finding the next job to lock: unlocked and due in slot order, or with an expired lock; never a
    // scan past the jobs already locked (thousands when many integrations share a slot).
    { properties: ['name', 'lockedAt', 'nextRunAt', 'priority'] },
  ],
  uniques: [{ properties: ['name', 'uniqueKey'] }],
  properties: {
    id: p.string().length(36).primary(),
    name: p.string(),
    priority: p.integer().default(0),
    nextRunAt: p.bigint('number').nullable(),
    type: p.string().length(16).default('normal'),
    lockedAt: p.bigint('number').nullable(),
    lastRunAt: p.bigint('number').nullable(),
    lastFinishedAt: p.bigint('number').nullable(),
    failedAt: p.bigint('number').nullable(),
    failCount: p.integer().nullable(),
    failReason: p.text().nullable(),
    repeatTimezone: p.string().nullable(),
    repeatInterval: p.string().nullable(),
    repeatAt: p.string().nullable(),
    /** The job's data as JSON text. */
    data: p.text().nullable(),
    disabled: p.boolean().default(false),
    progress: p.double().nullable(),
    fork: p.boolean().default(false),
    lastModifiedBy: p.string().nullable(),
    debounceStartedAt: p.bigint('number').nullable(),
    startDate: p.bigint('number').nullable(),
    endDate: p.bigint('number').nullable(),
    /** JSON array of weekdays to skip. */
    skipDays: p.string().nullable(),
    uniqueKey: p.text().nullable(),
    createdAt: p.bigint('number'),
    updatedAt: p.bigint('number'),
  },
});
export type AgendaJob = InferEntity<typeof AgendaJob>;
