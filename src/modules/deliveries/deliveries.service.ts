/**
 * Deliveries: every outbound call the gateway makes, recorded one row per attempt, and a durable queue
 * with retries for the calls that may be retried (outputs, outgoing webhooks, custom channels ...).
 *
 * API for other modules:
 *
 * - `enqueueDelivery(em, { kind, organisationId, channelId?, targetId?, url, body?, headers?, method?,
 *   retry?, messageId?, delayMs? })` -> `{ id }`
 *   Inserts a `pending` Delivery row (committed at once, or with the caller's transaction when `em` is
 *   inside one) and hands it to this replica's worker, which sends it right away (or after `delayMs`).
 *   `body` is sent as JSON. `retry` is the schedule in ms after each failed attempt (default
 *   STANDARD_RETRY, the Standard Webhooks schedule); [] means a single attempt. A 2xx answer succeeds;
 *   410 Gone is final; anything else (other status, timeout, network error) is retried on the schedule.
 *   Each attempt is its own row (attempt 1, 2, ...); a failed attempt that will be retried gets status
 *   `retried` and the next attempt is a new `pending` row with `nextAttemptAt`.
 *
 * - `registerDeliveryKind(kind, { onResult(result, ctx) })`
 *   Called after every attempt of that kind is recorded, with the answer (`statusCode`, `body` text,
 *   `json` when the answer is JSON, `error`, `ok`, `final`) and `{ em, deps }`. Return `{ retry: false }`
 *   to stop further attempts. The output kind uses it to switch an integration off on 410; Rocket.Chat
 *   posts an outgoing webhook's reply `text` back.
 *
 * - `recordAttempt(em, { kind, organisationId, channelId?, targetId?, url, statusCode?, latencyMs?,
 *   error?, response?, messageId?, body?, requestId? })` -> `{ id }`
 *   Records a call made synchronously by the caller (modifier calls, ticks) as a finished row
 *   (`succeeded` when there is no error and the status is 2xx, else `failed`).
 *
 * - `sendOnce(deps, { url, body, headers?, method?, timeoutMs? })` -> attempt outcome
 *   One outbound JSON call through the guarded got instance, timed, never throwing: for callers that
 *   then `recordAttempt`.
 *
 * Request headers and bodies may carry credentials (an Authorization header, a Rocket.Chat outgoing
 * webhook's `token`, integration settings): both are stored encrypted (SWITCHBOARD_SECRET_KEY) and never
 * exposed. `registerDeliveryStore(em, deps)` (called by buildApp) gives the module the key (and the
 * metrics) for a database.
 *
 * Each row keeps the request id it came from (`requestId`, default the one in force): the worker makes
 * every attempt, retries hours later too, under it, so their log lines name the original request.
 *
 * Durability: pending rows live in the database. `startDeliveryWorker(orm, deps)` (started by app.ts)
 * polls for due rows and claims them with an UPDATE guarded by status and lease (`lockedBy`,
 * `lockedUntil`), so two replicas never send the same attempt and a crashed replica's claims expire
 * and are taken over; pending retries resume after a restart.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { EntityManager } from '@mikro-orm/core';
import type { Deps, Scope } from '../../context.js';
import { ValidationError } from '../../errors.js';
import { idPage } from '../../pagination.js';
import { decryptSecret, encryptSecret } from '../../infra/crypto.js';
import { describe as describeOutbound } from '../../infra/http.js';
import { currentRequestId, withRequestId } from '../../infra/logger.js';
import { requireChannel } from '../channels/channels.service.js';
import { newId } from '../../infra/ulid.js';
import { DELIVERY_STATUSES, Delivery, type DeliveryStatus } from './delivery.entity.js';

/** Standard Webhooks' schedule after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const STANDARD_RETRY = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
/** How long a claimed attempt stays ours before another worker may take it over. */
const LEASE_MS = 120_000;
const RESPONSE_KEEP = 2_048;

export interface EnqueueInput {
  kind: string;
  organisationId: string;
  channelId?: string | null;
  targetId?: string | null;
  url: string;
  method?: string;
  body?: unknown;
  headers?: Record<string, string> | null;
  retry?: number[];
  messageId?: string | null;
  delayMs?: number;
  /** The request (or job run) the call comes from; default: the one in force. Its retries log under it. */
  requestId?: string | null;
}

export interface AttemptOutcome {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  /** Why the call failed, as a bounded label (null when it succeeded). */
  failure: 'timeout' | 'blocked' | 'unreachable' | 'status' | 'unreadable' | null;
  /** The answer's body as text. */
  body: string;
  /** The answer parsed as JSON, when it is JSON. */
  json?: unknown;
  ok: boolean;
}

export interface DeliveryResult extends AttemptOutcome {
  delivery: { id: string; kind: string; organisationId: string; channelId: string | null; targetId: string | null; url: string; attempt: number; messageId: string | null };
  /** No further attempt will be made. */
  final: boolean;
}

export interface DeliveryKindHandler {
  onResult?(result: DeliveryResult, ctx: { em: EntityManager; deps: Deps }): void | { retry?: boolean } | Promise<void | { retry?: boolean }>;
}

const kinds = new Map<string, DeliveryKindHandler>();

/** React to the answers of one kind of delivery (one handler per kind; the last registration wins). */
export function registerDeliveryKind(kind: string, handler: DeliveryKindHandler) {
  kinds.set(kind, handler);
}

/** Per database connection (one per app): the key that seals stored request headers and bodies, and the app's metrics. */
const stores = new Map<unknown, { key: Buffer; metrics?: Deps['metrics'] }>();

/** Make enqueueDelivery usable on this app's database (buildApp calls it once). */
export function registerDeliveryStore(em: EntityManager, deps: Pick<Deps, 'config'> & Partial<Pick<Deps, 'metrics'>>) {
  stores.set(em.getConnection(), { key: deps.config.secretKey, metrics: deps.metrics });
}

/**
 * The outcome label of `switchboard_deliveries_total`: success; retry_scheduled (failed, the next attempt
 * is queued); gave_up (failed after the whole retry schedule); failure (failed, no retry: a single-attempt
 * call, 410 Gone, or refused by the kind's handler).
 */
export type AttemptOutcomeLabel = 'success' | 'failure' | 'retry_scheduled' | 'gave_up';

/** Count finished attempts (rows with status succeeded/failed/retried) in the deliveries counter. */
export function countAttempts(metrics: Deps['metrics'] | undefined, rows: { kind: string; status: DeliveryStatus }[]) {
  if (!metrics) return;
  for (const row of rows) {
    if (row.status === 'pending') continue;
    metrics.deliveries.inc({ kind: row.kind, outcome: row.status === 'succeeded' ? 'success' : row.status === 'retried' ? 'retry_scheduled' : 'failure' });
  }
}

type StoredHeaders = { sealed: string } | null;
type StoredBody = { sealedBody: string } | null;

function storeKey(em: EntityManager): Buffer {
  const store = stores.get(em.getConnection());
  if (!store) throw new Error('registerDeliveryStore() was not called for this database: requests cannot be stored encrypted');
  return store.key;
}

function sealHeaders(em: EntityManager, headers: Record<string, string> | null | undefined): StoredHeaders {
  if (!headers || !Object.keys(headers).length) return null;
  return { sealed: encryptSecret(storeKey(em), JSON.stringify(headers)) };
}

/**
 * Request bodies are sealed whole: they may carry secrets (a Rocket.Chat outgoing webhook's `token`,
 * integration settings), and the history never shows them, so nothing is lost by not reading them back.
 */
function sealBody(em: EntityManager, body: unknown): StoredBody {
  if (body === undefined || body === null) return null;
  return { sealedBody: encryptSecret(storeKey(em), JSON.stringify(body)) };
}

/** The body to send: opened when sealed; rows stored before bodies were sealed hold it in clear. */
function openBody(key: Buffer, stored: unknown): unknown {
  if (stored && typeof stored === 'object' && !Array.isArray(stored)) {
    const sealed = (stored as { sealedBody?: unknown }).sealedBody;
    if (typeof sealed === 'string' && Object.keys(stored).length === 1) return JSON.parse(decryptSecret(key, sealed));
  }
  return stored;
}

function openHeaders(key: Buffer, stored: unknown): Record<string, string> | undefined {
  if (!stored || typeof stored !== 'object') return undefined;
  const sealed = (stored as { sealed?: unknown }).sealed;
  return typeof sealed === 'string' ? (JSON.parse(decryptSecret(key, sealed)) as Record<string, string>) : undefined;
}

/** A delivery row ready to insert (plain data, so it can be batched with other rows). */
export type DeliveryRow = ReturnType<typeof pendingRow>;

function pendingRow(input: EnqueueInput, now: Date, lock: { by: string; until: Date } | null, headers: StoredHeaders, body: StoredBody) {
  return {
    id: newId(now.getTime()),
    organisation: input.organisationId,
    channel: input.channelId ?? null,
    kind: input.kind,
    targetId: input.targetId ?? null,
    url: input.url,
    method: input.method ?? 'POST',
    body: body as unknown,
    headers: headers as Record<string, string> | null,
    attempt: 1,
    retry: input.retry ?? STANDARD_RETRY,
    status: 'pending' as DeliveryStatus,
    statusCode: null,
    latencyMs: null,
    error: null,
    response: null,
    nextAttemptAt: new Date(now.getTime() + (input.delayMs ?? 0)),
    lockedBy: lock?.by ?? null,
    lockedUntil: lock?.until ?? null,
    messageId: input.messageId ?? null,
    requestId: (input.requestId ?? currentRequestId() ?? null)?.slice(0, 128) ?? null,
    createdAt: now,
    updatedAt: now,
  };
}

/** Pending rows for this replica's worker to send as soon as they are committed (see `dispatchPrepared`). */
export function prepareDeliveries(em: EntityManager, inputs: EnqueueInput[]): DeliveryRow[] {
  const worker = workers.get(em.getConnection());
  const now = new Date();
  return inputs.map((input) => {
    const immediate = worker && !input.delayMs;
    return pendingRow(input, now, immediate ? { by: worker.token, until: new Date(now.getTime() + LEASE_MS) } : null, sealHeaders(em, input.headers), sealBody(em, input.body));
  });
}

/** Hand committed rows from `prepareDeliveries` to this replica's worker. */
export function dispatchPrepared(em: EntityManager, rows: DeliveryRow[]) {
  for (const row of rows) {
    // By token, not by connection: a worker that is stopping hands back rows it claimed before it stopped.
    const worker = row.lockedBy ? workersByToken.get(row.lockedBy) : undefined;
    worker?.send(row);
  }
}

export async function enqueueDelivery(em: EntityManager, input: EnqueueInput): Promise<{ id: string }> {
  const [row] = prepareDeliveries(em, [input]);
  await em.insert(Delivery, row as never);
  dispatchPrepared(em, [row]);
  return { id: row.id };
}

export interface RecordInput {
  kind: string;
  organisationId: string;
  channelId?: string | null;
  targetId?: string | null;
  url: string;
  method?: string;
  body?: unknown;
  statusCode?: number | null;
  latencyMs?: number | null;
  error?: string | null;
  response?: string | null;
  messageId?: string | null;
  requestId?: string | null;
}

/** A finished synchronous call as a row (for batching, on `em`'s database); `recordAttempt` inserts it. */
export function attemptRow(em: EntityManager, input: RecordInput, now = new Date()) {
  const ok = !input.error && input.statusCode != null && input.statusCode >= 200 && input.statusCode < 300;
  return {
    ...pendingRow({ ...input, retry: [] }, now, null, null, sealBody(em, input.body)),
    status: (ok ? 'succeeded' : 'failed') as DeliveryStatus,
    statusCode: input.statusCode ?? null,
    latencyMs: input.latencyMs == null ? null : Math.round(input.latencyMs),
    error: input.error ?? null,
    response: input.response == null ? null : input.response.slice(0, RESPONSE_KEEP),
    nextAttemptAt: null,
  };
}

export async function recordAttempt(em: EntityManager, input: RecordInput): Promise<{ id: string }> {
  const row = attemptRow(em, input);
  await em.insert(Delivery, row as never);
  countAttempts(stores.get(em.getConnection())?.metrics, [row]);
  return { id: row.id };
}

/** One JSON call through the guarded client; never throws. */
export async function sendOnce(
  deps: Pick<Deps, 'http'>,
  input: { url: string; body?: unknown; headers?: Record<string, string> | null; method?: string; timeoutMs?: number },
): Promise<AttemptOutcome> {
  const started = performance.now();
  try {
    const res = await deps.http.got(input.url, {
      method: (input.method ?? 'POST') as 'POST',
      ...(input.body === undefined || input.body === null ? {} : { json: input.body }),
      headers: input.headers ?? undefined,
      ...(input.timeoutMs ? { timeout: { request: input.timeoutMs } } : {}),
      responseType: 'text',
    });
    const latencyMs = performance.now() - started;
    const body = res.body;
    let json: unknown;
    if (body) {
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
    }
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    return { statusCode: res.statusCode, latencyMs, error: ok ? null : `HTTP ${res.statusCode}`, failure: ok ? null : 'status', body, json, ok };
  } catch (error) {
    const described = describeOutbound(error);
    const failure = described.kind === 'timeout' || described.kind === 'blocked' ? described.kind : described.kind === 'status' ? 'status' : 'unreachable';
    return { statusCode: null, latencyMs: performance.now() - started, error: described.message, failure, body: '', ok: false };
  }
}

// ---------------------------------------------------------------------------------------------------
// The worker

interface Worker {
  token: string;
  send(row: DeliveryRow): void;
}

/** One worker per database connection (one per app), found by the EntityManagers of that app. */
const workers = new Map<unknown, Worker>();
/** Workers by claim token, until their stop has finished (rows prepared before a stop still reach theirs). */
const workersByToken = new Map<string, Worker>();

/** Without a shutdown budget, how long stop() lets calls in flight finish. */
const STOP_GRACE_MS = 2_000;
/** Of the budget, what the release of unfinished claims needs. */
const RELEASE_RESERVE_MS = 200;

export interface DeliveryWorker {
  /** Look for due rows now (tests and start-up). */
  poll(): Promise<number>;
  /**
   * Stop sending. Claims not started are handed back at once; calls in flight get until `deadline` (epoch
   * ms, the shutdown budget; default a 2 s grace, never longer than the outbound timeout), and those still
   * running then are handed back too (their late answer is not recorded), so a restart or another replica
   * retries them at once instead of after the 120 s lease. Deliveries are at least once.
   */
  stop(options?: { deadline?: number }): Promise<void>;
}

export function startDeliveryWorker(
  root: { em: EntityManager },
  deps: Deps,
  options: { pollMs?: number; batch?: number; concurrency?: number } = {},
): DeliveryWorker {
  const pollMs = options.pollMs ?? 1_000;
  const batch = options.batch ?? 100;
  const concurrency = options.concurrency ?? 64;
  const token = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const connection = root.em.getConnection();
  registerDeliveryStore(root.em, deps);
  const inFlight = new Set<Promise<void>>();
  /** Rows being sent now, by id (with the claim they were sent under). */
  const sending = new Map<string, DeliveryRow>();
  /** Rows handed back on stop while their call was still running: their answer is not recorded. */
  const abandoned = new Set<string>();
  const waiting: DeliveryRow[] = [];
  /** Claims handed to `send` after stop began (a poll that was running, rows prepared before the stop). */
  const late: DeliveryRow[] = [];
  let stopped = false;
  let polling: Promise<number> | null = null;

  function send(row: DeliveryRow) {
    if (stopped) {
      late.push(row);
      return;
    }
    if (inFlight.size >= concurrency) {
      waiting.push(row);
      return;
    }
    sending.set(row.id, row);
    // Logged under the request the call came from (a retry, hours later, too); a row without one under
    // its own id, never under whichever request happened to free the slot.
    const p = withRequestId(row.requestId ?? `delivery:${row.id}`, () => attempt(row)).finally(() => {
      sending.delete(row.id);
      inFlight.delete(p);
      const next = waiting.shift();
      if (next) send(next);
    });
    inFlight.add(p);
  }

  /** Hand claimed rows back (unlock them) unless they were finished meanwhile. */
  async function release(rows: DeliveryRow[], what: string) {
    const byClaim = new Map<string | null, string[]>();
    for (const r of rows) byClaim.set(r.lockedBy, [...(byClaim.get(r.lockedBy) ?? []), r.id]);
    for (const [claim, ids] of byClaim) {
      if (!claim) continue;
      await root.em
        .fork()
        .nativeUpdate(Delivery, { id: { $in: ids }, lockedBy: claim, status: 'pending' }, { lockedBy: null, lockedUntil: null })
        .catch((error) => deps.logger.warn({ err: error, deliveries: ids.length }, `could not release ${what} deliveries`));
    }
  }

  async function attempt(row: DeliveryRow) {
    let headers: Record<string, string> | undefined;
    let body: unknown;
    let unreadable = false;
    try {
      headers = openHeaders(deps.config.secretKey, row.headers);
      body = openBody(deps.config.secretKey, row.body);
    } catch {
      unreadable = true; // sealed with another SWITCHBOARD_SECRET_KEY: never sent without its credentials
    }
    const outcome: AttemptOutcome = unreadable
      ? { statusCode: null, latencyMs: 0, error: 'the stored request cannot be decrypted with the current SWITCHBOARD_SECRET_KEY: not sent', failure: 'unreadable', body: '', ok: false }
      : await sendOnce(deps, { url: row.url, body, headers, method: row.method });
    // Handed back on stop while in flight: whoever claims it next makes the attempt again.
    if (abandoned.has(row.id)) return;
    const em = root.em.fork();
    const handler = kinds.get(row.kind);
    let final = unreadable || outcome.ok || outcome.statusCode === 410 || row.attempt > row.retry.length;
    const result: DeliveryResult = {
      ...outcome,
      delivery: {
        id: row.id,
        kind: row.kind,
        organisationId: row.organisation,
        channelId: row.channel,
        targetId: row.targetId,
        url: row.url,
        attempt: row.attempt,
        messageId: row.messageId,
      },
      final,
    };
    let decision: void | { retry?: boolean } = undefined;
    try {
      decision = await handler?.onResult?.(result, { em, deps });
    } catch (error) {
      deps.logger.error({ err: error, kind: row.kind, deliveryId: row.id }, 'delivery result handler failed');
    }
    if (decision && decision.retry === false) final = true;
    const now = new Date();
    const status: DeliveryStatus = outcome.ok ? 'succeeded' : final ? 'failed' : 'retried';
    const outcomeLabel: AttemptOutcomeLabel =
      status === 'succeeded' ? 'success' : status === 'retried' ? 'retry_scheduled' : row.retry.length && row.attempt > row.retry.length ? 'gave_up' : 'failure';
    deps.metrics.deliveries.inc({ kind: row.kind, outcome: outcomeLabel });
    const logged = { deliveryId: row.id, kind: row.kind, targetId: row.targetId, attempt: row.attempt, statusCode: outcome.statusCode, latencyMs: Math.round(outcome.latencyMs) };
    if (status === 'succeeded') deps.logger.debug(logged, 'delivery attempt succeeded');
    else if (status === 'retried') deps.logger.info({ ...logged, error: outcome.error, retryInMs: row.retry[row.attempt - 1] ?? 0 }, 'delivery attempt failed; retry scheduled');
    else deps.logger.warn({ ...logged, error: outcome.error }, 'delivery failed; no further attempt');
    try {
      await em.transactional(async (tx) => {
        const updated = await tx.nativeUpdate(
          Delivery,
          { id: row.id, lockedBy: row.lockedBy, status: 'pending' },
          {
            status,
            statusCode: outcome.statusCode,
            latencyMs: Math.round(outcome.latencyMs),
            error: outcome.error,
            response: outcome.body ? outcome.body.slice(0, RESPONSE_KEEP) : null,
            nextAttemptAt: null,
            lockedBy: null,
            lockedUntil: null,
            updatedAt: now,
          },
        );
        // Not ours any more (the lease expired and another worker took it, or the row is gone).
        if (!updated || status !== 'retried') return;
        const delay = row.retry[row.attempt - 1] ?? 0;
        await tx.insert(Delivery, {
          ...row,
          id: newId(now.getTime()),
          attempt: row.attempt + 1,
          status: 'pending',
          nextAttemptAt: new Date(now.getTime() + delay),
          lockedBy: null,
          lockedUntil: null,
          createdAt: now,
          updatedAt: now,
        } as never);
      });
    } catch (error) {
      // The channel or organisation was deleted meanwhile (foreign key), or the database is down: the
      // lease expires and the attempt is made again, which is the at-least-once contract.
      deps.logger.warn({ err: error, deliveryId: row.id }, 'could not record a delivery attempt');
    }
  }

  async function pollOnce(): Promise<number> {
    if (stopped) return 0;
    const free = concurrency - inFlight.size;
    if (free <= 0) return 0;
    const em = root.em.fork();
    const now = new Date();
    const due = await em.find(
      Delivery,
      { status: 'pending', nextAttemptAt: { $lte: now }, $or: [{ lockedUntil: null }, { lockedUntil: { $lt: now } }] },
      { orderBy: { nextAttemptAt: 'asc' }, limit: Math.min(batch, free), fields: ['id'] },
    );
    if (!due.length) return 0;
    const claim = `${token}:${randomBytes(3).toString('hex')}`;
    await em.nativeUpdate(
      Delivery,
      { id: { $in: due.map((d) => d.id) }, status: 'pending', $or: [{ lockedUntil: null }, { lockedUntil: { $lt: now } }] },
      { lockedBy: claim, lockedUntil: new Date(now.getTime() + LEASE_MS) },
    );
    const claimed = await em.fork().find(Delivery, { lockedBy: claim, status: 'pending' });
    for (const d of claimed) {
      send({
        ...(d as unknown as DeliveryRow),
        organisation: d.organisation.id,
        channel: d.channel?.id ?? null,
      });
    }
    return claimed.length;
  }

  function poll() {
    if (!polling) {
      polling = pollOnce()
        .catch((error) => {
          if (!stopped) deps.logger.warn({ err: error }, 'delivery poll failed');
          return 0;
        })
        .finally(() => {
          polling = null;
        });
    }
    return polling;
  }

  const timer = setInterval(() => void poll(), pollMs);
  timer.unref();
  const worker: Worker = { token, send };
  workers.set(connection, worker);
  workersByToken.set(token, worker);
  void poll();

  return {
    poll,
    async stop(options = {}) {
      const began = Date.now();
      stopped = true;
      clearInterval(timer);
      if (workers.get(connection) === worker) workers.delete(connection);
      // Claimed but not started: hand them back at once rather than after the lease. A poll that was
      // running hands its claims to send(), which now keeps them aside (late) for this release.
      await polling;
      const unsent = [...waiting.splice(0), ...late.splice(0)];
      if (unsent.length) await release(unsent, 'unsent');
      // Calls in flight get what is left of the shutdown budget (a short grace without one), never more
      // than the outbound timeout; those still running then are handed back too.
      const until = options.deadline
        ? Math.min(options.deadline - RELEASE_RESERVE_MS, began + deps.config.outbound.timeoutMs)
        : began + STOP_GRACE_MS;
      let grace: NodeJS.Timeout | undefined;
      if (inFlight.size) {
        await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => (grace = setTimeout(r, Math.max(0, until - Date.now()))))]);
        clearTimeout(grace);
      }
      const running = [...sending.values()];
      for (const r of running) abandoned.add(r.id);
      // With rows prepared before the stop and dispatched meanwhile.
      const unfinished = [...running, ...late.splice(0)];
      if (unfinished.length) await release(unfinished, 'unfinished');
      if (running.length) deps.logger.warn({ deliveries: running.length }, 'delivery calls still running at shutdown were handed back for retry');
      workersByToken.delete(token);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// History

export interface DeliveryFilter {
  first?: number | null;
  after?: string | null;
  kind?: string | null;
  status?: string | null;
}

/** A channel's deliveries, newest first; `after` is a delivery id from a previous page. */
export async function listChannelDeliveries(scope: Scope, channelId: string, args: DeliveryFilter) {
  const channel = await requireChannel(scope, channelId);
  if (args.status && !DELIVERY_STATUSES.includes(args.status as DeliveryStatus)) {
    throw new ValidationError('status', `status must be one of ${DELIVERY_STATUSES.join(', ')}`);
  }
  const filter = { channel, ...(args.kind ? { kind: args.kind } : {}), ...(args.status ? { status: args.status as DeliveryStatus } : {}) };
  const page = await idPage({ first: args.first, after: args.after }, 'desc', (range, order, limit) =>
    scope.em.find(Delivery, { ...filter, ...(Object.keys(range).length ? { id: range } : {}) }, { orderBy: { id: order }, limit }),
  );
  return { edges: page.items.map((node) => ({ node, cursor: node.id })), pageInfo: page.pageInfo };
}
