/**
 * Agenda 6's JobRepository over the gateway's own database, through MikroORM's connection: SQLite for
 * the embedded default, PostgreSQL when DATABASE_URL points there. Every state change that decides who
 * runs a job is one conditional statement (UPDATE ... WHERE <still lockable> RETURNING), so two
 * processes on one database never both lock the same job: SQLite serialises writers, and PostgreSQL
 * re-checks the WHERE clause on the locked row (plus SKIP LOCKED so pollers do not queue on each other).
 * Instants are epoch milliseconds (see agenda-job.entity.ts).
 */
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/core';
import {
  computeJobState,
  toJobId,
  type JobParameters,
  type JobRepository,
  type JobRepositoryOptions,
  type JobsOverview,
  type JobsQueryOptions,
  type JobsResult,
  type JobsSort,
  type JobWithState,
  type RemoveJobsOptions,
} from 'agenda';

export type SqlDialect = 'sqlite' | 'postgresql';

const TABLE = 'agenda_jobs';

/** Due jobs locked per statement (see getNextJobToRun). */
export const LOCK_BATCH = 200;

/** Agenda's run order: earliest nextRunAt first, then highest priority. */
const runOrder = (a: JobParameters, b: JobParameters) =>
  (a.nextRunAt?.getTime() ?? 0) - (b.nextRunAt?.getTime() ?? 0) || (b.priority ?? 0) - (a.priority ?? 0);

interface Row {
  id: string;
  name: string;
  priority: number | string;
  next_run_at: number | string | null;
  type: 'normal' | 'single';
  locked_at: number | string | null;
  last_run_at: number | string | null;
  last_finished_at: number | string | null;
  failed_at: number | string | null;
  fail_count: number | string | null;
  fail_reason: string | null;
  repeat_timezone: string | null;
  repeat_interval: string | null;
  repeat_at: string | null;
  data: string | null;
  disabled: boolean | number;
  progress: number | string | null;
  fork: boolean | number;
  last_modified_by: string | null;
  debounce_started_at: number | string | null;
  start_date: number | string | null;
  end_date: number | string | null;
  skip_days: string | null;
  unique_key: string | null;
}

/** The columns a save writes, in one order for INSERT and UPDATE. */
const WRITE_COLUMNS = [
  'name',
  'priority',
  'next_run_at',
  'type',
  'repeat_timezone',
  'repeat_interval',
  'data',
  'repeat_at',
  'disabled',
  'fork',
  'fail_reason',
  'fail_count',
  'failed_at',
  'last_modified_by',
  'start_date',
  'end_date',
  'skip_days',
] as const;

const ms = (d: Date | string | number | null | undefined) => (d == null ? null : d instanceof Date ? d.getTime() : new Date(d).getTime());
const num = (v: number | string | null | undefined) => (v == null ? undefined : Number(v));
const date = (v: number | string | null | undefined) => (v == null ? undefined : new Date(Number(v)));

/** Key of Agenda's unique constraint: stable whatever the key order. `every()` jobs are unique by name. */
export function uniqueKeyOf(job: Pick<JobParameters, 'type' | 'unique'>): string | null {
  if (job.unique && Object.keys(job.unique).length) {
    const entries = Object.entries(job.unique).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return JSON.stringify(entries);
  }
  return job.type === 'single' ? '' : null;
}

/** Partial match of a job's data against a filter, as PostgreSQL's `@>` containment. */
export function dataContains(data: unknown, filter: unknown): boolean {
  if (filter === null || typeof filter !== 'object') return data === filter;
  if (Array.isArray(filter)) {
    return Array.isArray(data) && filter.every((f) => data.some((d) => dataContains(d, f)));
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return false;
  return Object.entries(filter).every(([k, v]) => dataContains((data as Record<string, unknown>)[k], v));
}

export class SqlJobRepository implements JobRepository {
  /** Statements sent to the database since the repository was created (the bench reads it). */
  queries = 0;

  constructor(
    private readonly orm: MikroORM,
    private readonly dialect: SqlDialect,
  ) {}

  private async sql<T = Row>(query: string, params: unknown[] = []): Promise<T[]> {
    this.queries++;
    return (await this.orm.em.getConnection().execute(query, params, 'all')) as T[];
  }

  // SQLite's busy_timeout (wait for another process's write lock rather than fail) is set by the ORM on
  // every pooled connection (src/db/orm.ts), so the statements here need no pragma of their own.

  /** Run a DELETE or UPDATE and return how many rows it changed. */
  private async changed(query: string, params: unknown[] = []): Promise<number> {
    this.queries++;
    const result = (await this.orm.em.getConnection().execute(query, params, 'run')) as { affectedRows?: number };
    return Number(result.affectedRows ?? 0);
  }

  private bool(v: boolean) {
    return this.dialect === 'postgresql' ? v : v ? 1 : 0;
  }

  private rowToJob(row: Row): JobParameters {
    return {
      _id: toJobId(row.id),
      name: row.name,
      priority: Number(row.priority),
      nextRunAt: row.next_run_at == null ? null : new Date(Number(row.next_run_at)),
      type: row.type,
      lockedAt: date(row.locked_at),
      lastRunAt: date(row.last_run_at),
      lastFinishedAt: date(row.last_finished_at),
      failedAt: date(row.failed_at),
      failCount: num(row.fail_count),
      failReason: row.fail_reason ?? undefined,
      repeatTimezone: row.repeat_timezone ?? undefined,
      repeatInterval: row.repeat_interval ?? undefined,
      repeatAt: row.repeat_at ?? undefined,
      data: row.data == null ? undefined : JSON.parse(row.data),
      disabled: row.disabled === true || Number(row.disabled) === 1,
      progress: num(row.progress),
      fork: row.fork === true || Number(row.fork) === 1,
      lastModifiedBy: row.last_modified_by ?? undefined,
      debounceStartedAt: date(row.debounce_started_at),
      startDate: date(row.start_date),
      endDate: date(row.end_date),
      skipDays: row.skip_days ? JSON.parse(row.skip_days) : undefined,
    };
  }

  private writeValues(job: JobParameters, options: JobRepositoryOptions | undefined): unknown[] {
    return [
      job.name,
      job.priority ?? 0,
      ms(job.nextRunAt),
      job.type ?? 'normal',
      job.repeatTimezone ?? null,
      job.repeatInterval == null ? null : String(job.repeatInterval),
      job.data === undefined ? null : JSON.stringify(job.data),
      job.repeatAt ?? null,
      this.bool(job.disabled === true),
      this.bool(job.fork === true),
      job.failReason ?? null,
      job.failCount ?? null,
      ms(job.failedAt),
      options?.lastModifiedBy ?? null,
      ms(job.startDate),
      ms(job.endDate),
      job.skipDays ? JSON.stringify(job.skipDays) : null,
    ];
  }

  async connect(): Promise<void> {
    // The table comes with the gateway's migrations; fail early and clearly when it is missing.
    await this.sql(`select id from ${TABLE} where 1 = 0`);
  }

  async getJobById(id: string): Promise<JobParameters | null> {
    const [row] = await this.sql(`select * from ${TABLE} where id = ?`, [String(id)]);
    return row ? this.rowToJob(row) : null;
  }

  private orderBy(sort?: JobsSort) {
    const dir = (d: unknown) => (d === 'asc' || d === 1 ? 'asc' : 'desc');
    // NULLs last in both dialects: sort on "is null" first.
    const col = (c: string, d: unknown) => `(${c} is null) asc, ${c} ${dir(d)}`;
    if (!sort) return `${col('next_run_at', 'desc')}, ${col('last_run_at', 'desc')}`;
    const parts: string[] = [];
    if (sort.nextRunAt !== undefined) parts.push(col('next_run_at', sort.nextRunAt));
    if (sort.lastRunAt !== undefined) parts.push(col('last_run_at', sort.lastRunAt));
    if (sort.lastFinishedAt !== undefined) parts.push(col('last_finished_at', sort.lastFinishedAt));
    if (sort.priority !== undefined) parts.push(`priority ${dir(sort.priority)}`);
    if (sort.name !== undefined) parts.push(`name ${dir(sort.name)}`);
    return parts.length ? parts.join(', ') : `${col('next_run_at', 'desc')}, ${col('last_run_at', 'desc')}`;
  }

  /** WHERE conditions for ids and names; `data` is matched afterwards (see matching()). */
  private filter(options: RemoveJobsOptions | JobsQueryOptions): { where: string[]; params: unknown[] } {
    const where: string[] = [];
    const params: unknown[] = [];
    const ids = options.id ? [String(options.id)] : options.ids?.length ? options.ids.map(String) : null;
    if (ids) {
      where.push(`id in (${ids.map(() => '?').join(', ')})`);
      params.push(...ids);
    }
    if (options.name) {
      where.push('name = ?');
      params.push(options.name);
    } else if (options.names?.length) {
      where.push(`name in (${options.names.map(() => '?').join(', ')})`);
      params.push(...options.names);
    } else if ('notNames' in options && options.notNames?.length) {
      where.push(`name not in (${options.notNames.map(() => '?').join(', ')})`);
      params.push(...options.notNames);
    }
    // Top-level string values of a data filter narrow the scan in SQL; the full match is checked in code.
    if (options.data && typeof options.data === 'object' && !Array.isArray(options.data)) {
      for (const [key, value] of Object.entries(options.data)) {
        if (typeof value !== 'string' || !/^[A-Za-z0-9_]+$/.test(key)) continue;
        where.push(this.dialect === 'postgresql' ? `(data::jsonb ->> '${key}') = ?` : `json_extract(data, '$.${key}') = ?`);
        params.push(value);
      }
    }
    return { where, params };
  }

  private async matching(options: RemoveJobsOptions): Promise<string[] | null> {
    const { where, params } = this.filter(options);
    if (!where.length && options.data === undefined) return null;
    const rows = await this.sql<{ id: string; data: string | null }>(
      `select id, data from ${TABLE}${where.length ? ` where ${where.join(' and ')}` : ''}`,
      params,
    );
    return rows.filter((r) => options.data === undefined || dataContains(r.data == null ? undefined : JSON.parse(r.data), options.data)).map((r) => r.id);
  }

  private async updateByIds(ids: string[], set: string, params: unknown[] = []): Promise<number> {
    let count = 0;
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      count += await this.changed(`${set} where id in (${chunk.map(() => '?').join(', ')})`, [...params, ...chunk]);
    }
    return count;
  }

  async queryJobs(options: JobsQueryOptions = {}): Promise<JobsResult> {
    const { state, search, includeDisabled = true, sort, skip = 0, limit = 0 } = options;
    const { where, params } = this.filter(options);
    if (search) {
      where.push('lower(name) like ?');
      params.push(`%${search.toLowerCase()}%`);
    }
    if (!includeDisabled) where.push(`disabled = ${this.dialect === 'postgresql' ? 'false' : '0'}`);
    const rows = await this.sql(`select * from ${TABLE}${where.length ? ` where ${where.join(' and ')}` : ''} order by ${this.orderBy(sort)}`, params);
    const now = new Date();
    let jobs: JobWithState[] = rows
      .map((row) => this.rowToJob(row))
      .filter((job) => options.data === undefined || dataContains(job.data, options.data))
      .map((job) => ({ ...job, _id: job._id!, state: computeJobState(job, now) }))
      .filter((job) => !state || (state === 'paused' ? job.disabled === true : job.state === state));
    const total = jobs.length;
    if (limit > 0) jobs = jobs.slice(skip, skip + limit);
    else if (skip > 0) jobs = jobs.slice(skip);
    return { jobs, total };
  }

  async getJobsOverview(): Promise<JobsOverview[]> {
    const rows = await this.sql(`select * from ${TABLE} order by name`);
    const now = new Date();
    const byName = new Map<string, JobsOverview>();
    for (const row of rows) {
      const job = this.rowToJob(row);
      let o = byName.get(job.name);
      if (!o) {
        o = { name: job.name, total: 0, running: 0, scheduled: 0, queued: 0, completed: 0, failed: 0, repeating: 0, paused: 0 };
        byName.set(job.name, o);
      }
      o.total++;
      o[computeJobState(job, now)]++;
      if (job.disabled) o.paused++;
    }
    return [...byName.values()];
  }

  async getDistinctJobNames(): Promise<string[]> {
    const rows = await this.sql<{ name: string }>(`select distinct name from ${TABLE} order by name`);
    return rows.map((r) => r.name);
  }

  async getQueueSize(): Promise<number> {
    const [row] = await this.sql<{ count: number | string }>(`select count(*) as count from ${TABLE} where next_run_at < ?`, [Date.now()]);
    return Number(row?.count ?? 0);
  }

  async removeJobs(options: RemoveJobsOptions): Promise<number> {
    const ids = await this.matching(options);
    if (!ids?.length) return 0;
    return this.updateByIds(ids, `delete from ${TABLE}`);
  }

  async disableJobs(options: RemoveJobsOptions): Promise<number> {
    const ids = await this.matching(options);
    if (!ids?.length) return 0;
    return this.updateByIds(ids, `update ${TABLE} set disabled = ?, updated_at = ?`, [this.bool(true), Date.now()]);
  }

  async enableJobs(options: RemoveJobsOptions): Promise<number> {
    const ids = await this.matching(options);
    if (!ids?.length) return 0;
    return this.updateByIds(ids, `update ${TABLE} set disabled = ?, updated_at = ?`, [this.bool(false), Date.now()]);
  }

  async purgeAllJobs(): Promise<number> {
    return this.changed(`delete from ${TABLE}`);
  }

  async saveJobState(job: JobParameters, options: JobRepositoryOptions | undefined): Promise<void> {
    if (!job._id) throw new Error('Cannot save job state without job ID');
    const changed = await this.changed(
      `update ${TABLE} set locked_at = ?, next_run_at = ?, last_run_at = ?, progress = ?, fail_reason = ?, fail_count = ?,
         failed_at = ?, last_finished_at = ?, last_modified_by = ?, updated_at = ?
       where id = ? and name = ?`,
      [
        ms(job.lockedAt),
        ms(job.nextRunAt),
        ms(job.lastRunAt),
        job.progress ?? null,
        job.failReason ?? null,
        job.failCount ?? null,
        ms(job.failedAt),
        ms(job.lastFinishedAt),
        options?.lastModifiedBy ?? null,
        Date.now(),
        String(job._id),
        job.name,
      ],
    );
    if (changed !== 1) throw new Error(`job ${job._id} (name: ${job.name}) cannot be updated in the database, maybe it does not exist anymore?`);
  }

  async lockJob(job: JobParameters, options: JobRepositoryOptions | undefined): Promise<JobParameters | undefined> {
    if (!job._id) return undefined;
    const [row] = await this.sql(
      `update ${TABLE} set locked_at = ?, last_modified_by = ?
       where id = ? and name = ? and locked_at is null and next_run_at = ? and disabled = ? returning *`,
      [Date.now(), options?.lastModifiedBy ?? null, String(job._id), job.name, ms(job.nextRunAt), this.bool(false)],
    );
    return row ? this.rowToJob(row) : undefined;
  }

  async unlockJob(job: JobParameters): Promise<void> {
    if (!job._id) return;
    // Only jobs that are not being processed (a job in its run has no next_run_at yet) are unlocked.
    await this.sql(`update ${TABLE} set locked_at = null where id = ? and next_run_at is not null`, [String(job._id)]);
  }

  async unlockJobs(jobIds: string[]): Promise<void> {
    if (!jobIds.length) return;
    await this.updateByIds(jobIds.map(String), `update ${TABLE} set locked_at = null`);
  }

  /**
   * Jobs this process locked in a batch and has not handed to Agenda yet, per job name, in run order.
   * Agenda asks for one job per call; locking LOCK_BATCH due jobs per statement instead of one saves a
   * round trip per job when many share a slot. They are locked in the database like any other, so no
   * other process can take them; stop() releases the ones never handed out (releaseHeld()).
   */
  private readonly held = new Map<string, JobParameters[]>();

  /**
   * Lock the next job of a name: the earliest due unlocked one (highest priority first within its
   * instant), else one whose lock expired. Due jobs are locked LOCK_BATCH at a time by one UPDATE whose
   * WHERE clause re-checks that each row is still lockable, so of two processes racing for a row one
   * gets it (PostgreSQL: SKIP LOCKED, so pollers do not queue on each other's rows); the rest of the
   * batch is handed out on the next calls, which Agenda makes at once while it fills its queue.
   */
  async getNextJobToRun(jobName: string, nextScanAt: Date, lockDeadline: Date, now: Date | undefined, options: JobRepositoryOptions | undefined) {
    const fromHeld = this.takeHeld(jobName, lockDeadline);
    if (fromHeld) return fromHeld;
    const no = this.bool(false);
    const skipLocked = this.dialect === 'postgresql' ? ' for update skip locked' : '';
    const lockedAt = (now ?? new Date()).getTime();
    const due = await this.sql(
      `update ${TABLE} set locked_at = ?, last_modified_by = ?
       where id in (
         select id from ${TABLE} where name = ? and locked_at is null and disabled = ? and next_run_at <= ?
         order by next_run_at asc, priority desc limit ${LOCK_BATCH}${skipLocked})
         and name = ? and locked_at is null and disabled = ? and next_run_at <= ?
       returning *`,
      [lockedAt, options?.lastModifiedBy ?? null, jobName, no, nextScanAt.getTime(), jobName, no, nextScanAt.getTime()],
    );
    if (due.length) {
      const jobs = due.map((row) => this.rowToJob(row)).sort(runOrder);
      this.held.set(jobName, jobs.slice(1));
      return jobs[0];
    }
    const expired = `select id from ${TABLE} where name = ? and locked_at <= ? and disabled = ? order by locked_at asc limit 1${skipLocked}`;
    const [row] = await this.sql(
      `update ${TABLE} set locked_at = ?, last_modified_by = ?
       where id = (${expired}) and name = ? and disabled = ? and locked_at <= ?
       returning *`,
      [lockedAt, options?.lastModifiedBy ?? null, jobName, lockDeadline.getTime(), no, jobName, no, lockDeadline.getTime()],
    );
    return row ? this.rowToJob(row) : undefined;
  }

  /** The next held job of a name that is still ours to run (its lock has not expired meanwhile). */
  private takeHeld(jobName: string, lockDeadline: Date): JobParameters | undefined {
    const jobs = this.held.get(jobName);
    while (jobs?.length) {
      const job = jobs.shift()!;
      // A lock older than the job's lifetime may have been taken over by another process: not ours any more.
      if (job.lockedAt && job.lockedAt <= lockDeadline) continue;
      return job;
    }
    this.held.delete(jobName);
    return undefined;
  }

  /** Unlock the jobs locked in a batch but never handed to Agenda (on stop, so another process runs them). */
  async releaseHeld(): Promise<void> {
    const ids = [...this.held.values()].flat().map((j) => String(j._id));
    this.held.clear();
    if (ids.length) await this.updateByIds(ids, `update ${TABLE} set locked_at = null`);
  }

  async saveJob<DATA = unknown>(job: JobParameters<DATA>, options: JobRepositoryOptions | undefined): Promise<JobParameters<DATA>> {
    const { _id, unique, uniqueOpts } = job;
    const values = this.writeValues(job as JobParameters, options);
    const now = Date.now();

    if (_id) {
      const assignments = WRITE_COLUMNS.map((c) => `${c} = ?`).join(', ');
      const [row] = await this.sql(`update ${TABLE} set ${assignments}, updated_at = ? where id = ? and name = ? returning *`, [
        ...values,
        now,
        String(_id),
        job.name,
      ]);
      // A job removed meanwhile stays removed; Agenda gets its data back unchanged.
      return row ? (this.rowToJob(row) as JobParameters<DATA>) : job;
    }

    const key = uniqueKeyOf(job as JobParameters);
    const insertColumns = ['id', ...WRITE_COLUMNS, 'unique_key', 'created_at', 'updated_at'];
    const insert = `insert into ${TABLE} (${insertColumns.join(', ')}) values (${insertColumns.map(() => '?').join(', ')})`;
    const insertValues = (nextRunAt: unknown, debounceStartedAt: number | null = null) => {
      const v = [...values];
      v[WRITE_COLUMNS.indexOf('next_run_at')] = nextRunAt;
      return { sql: insert, params: [randomUUID(), ...v, key, now, now], debounceStartedAt };
    };

    if (key === null) {
      const { sql, params } = insertValues(ms(job.nextRunAt));
      const [row] = await this.sql(`${sql} returning *`, params);
      return this.rowToJob(row) as JobParameters<DATA>;
    }

    if (job.type === 'single' && !unique) {
      // every(): one job per name. A due nextRunAt does not overwrite a stored one, so a restart does
      // not run the job again before its slot.
      const protect = job.nextRunAt != null && job.nextRunAt.getTime() <= now;
      const updates = WRITE_COLUMNS.filter((c) => !['name', 'type', 'fail_reason', 'fail_count', 'failed_at'].includes(c)).map((c) =>
        c === 'next_run_at' && protect ? `next_run_at = coalesce(${TABLE}.next_run_at, excluded.next_run_at)` : `${c} = excluded.${c}`,
      );
      const { sql, params } = insertValues(ms(job.nextRunAt));
      const [row] = await this.sql(`${sql} on conflict (name, unique_key) do update set ${updates.join(', ')}, updated_at = excluded.updated_at returning *`, params);
      return this.rowToJob(row) as JobParameters<DATA>;
    }

    // A unique constraint: insert unless a job with the key exists; the unique index settles races.
    const debounce = uniqueOpts?.debounce;
    const findExisting = async () => (await this.sql(`select * from ${TABLE} where name = ? and unique_key = ?`, [job.name, key]))[0];
    let existing = await findExisting();
    if (!existing) {
      let nextRunAt = ms(job.nextRunAt);
      let debounceStartedAt: number | null = null;
      if (debounce) {
        debounceStartedAt = now;
        if (debounce.strategy !== 'leading') nextRunAt = now + debounce.delay;
      }
      const { sql, params } = insertValues(nextRunAt);
      const [row] = await this.sql(`${sql} on conflict (name, unique_key) do nothing returning *`, params);
      if (row) {
        if (debounceStartedAt !== null) {
          await this.sql(`update ${TABLE} set debounce_started_at = ? where id = ?`, [debounceStartedAt, row.id]);
          row.debounce_started_at = debounceStartedAt;
        }
        return this.rowToJob(row) as JobParameters<DATA>;
      }
      existing = await findExisting();
      if (!existing) throw new Error(`job ${job.name} with unique key ${key} could neither be inserted nor found`);
    }
    if (uniqueOpts?.insertOnly && !debounce) return this.rowToJob(existing) as JobParameters<DATA>;

    let nextRunAt = ms(job.nextRunAt);
    let debounceStartedAt: number | null = null;
    if (debounce) {
      const started = existing.debounce_started_at == null ? now : Number(existing.debounce_started_at);
      if (debounce.strategy === 'leading') {
        nextRunAt = existing.next_run_at == null ? null : Number(existing.next_run_at);
        debounceStartedAt = started;
      } else if (debounce.maxWait && now - started >= debounce.maxWait) {
        nextRunAt = now;
      } else {
        nextRunAt = now + debounce.delay;
        debounceStartedAt = started;
      }
    }
    const v = [...values];
    v[WRITE_COLUMNS.indexOf('next_run_at')] = nextRunAt;
    const updateColumns = WRITE_COLUMNS.filter((c) => !['name', 'fail_reason', 'fail_count', 'failed_at'].includes(c));
    const [row] = await this.sql(
      `update ${TABLE} set ${updateColumns.map((c) => `${c} = ?`).join(', ')}, debounce_started_at = ?, updated_at = ? where id = ? returning *`,
      [...updateColumns.map((c) => v[WRITE_COLUMNS.indexOf(c)]), debounceStartedAt, now, existing.id],
    );
    return this.rowToJob(row ?? existing) as JobParameters<DATA>;
  }
}
