/**
 * The delivery worker: sends pending rows and records each attempt. Durability lives in the database:
 * pending rows and retries survive restarts, and a claim is a lease another replica takes over when it
 * expires.
 *
 * Ordered targets (rows with an `orderKey`) are guarded in the claim itself: such a row is claimed only while it is
 * the first pending row of its key, so across replicas and restarts one call of the target is in flight at a time,
 * in `seq` order. When it ends (success, or given up) this worker claims the next one at once (`next`).
 * Throttled targets (`maxPerSecond`) take a turn from deps.rateLimits, shared by replicas, before each call.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { raw, type EntityManager } from '@mikro-orm/core';
import type { Deps, WorkScope } from '../../context.js';
import { withRequestId } from '../../infra/logger.js';
import { Delivery, type DeliveryStatus } from './delivery.entity.js';
import { RESPONSE_KEEP, type DeliveryLedger, type DeliveryRow } from './ledger.js';
import type { AttemptOutcome } from './sender.js';
import { gate, recordOutcome, targetKey, type HealthTransition, type TargetRef } from './health.js';
import type { DeliveryTarget } from './delivery-target.entity.js';

/** How long a claimed attempt stays ours before another worker may take it over. */
export const LEASE_MS = 120_000;
/**
 * How far ahead a throttled call may reserve its turn and wait for it in memory; a call whose turn is further away is
 * held in the database (like an open circuit holds it) and claimed again when its turn nears. Longer than the poll
 * interval, so a throttled backlog keeps its pace.
 */
export const THROTTLE_HORIZON_MS = 1_500;

/**
 * The claim's guard for ordered targets: a row with an order key passes only as the first pending row of its key by
 * (seq, id), so nothing of an ordered target leaves while an earlier call of it is pending or in flight (in flight
 * is pending and locked, on whichever replica). A row without one (the default) passes at once. A new fragment per
 * query (raw fragments are single-use keys).
 */
const headOfItsTarget = () =>
  raw(
    (alias) =>
      `(${alias}.order_key is null or ${alias}.id = (select h.id from deliveries h where h.order_key = ${alias}.order_key and h.status = 'pending' order by h.seq, h.id limit 1))`,
  );

export interface DeliveryResult extends AttemptOutcome {
  delivery: {
    id: string;
    kind: string;
    organisationId: string;
    channelId: string | null;
    targetId: string | null;
    url: string;
    attempt: number;
    messageId: string | null;
    /** The id of the call's first attempt (its `webhook-id`). */
    webhookId: string;
    /** A replay: the attempt it sends again. */
    replayOf: string | null;
  };
  /** No further attempt will be made. */
  final: boolean;
}

export interface DeliveryKindHandler {
  onResult?(result: DeliveryResult, ctx: WorkScope): void | { retry?: boolean } | Promise<void | { retry?: boolean }>;
  /**
   * The HMAC keys to sign this kind's calls with (Standard Webhooks headers; see infra/webhook-signature.ts),
   * looked up from the call's target at each attempt, so a rotation applies to retries too. None: unsigned.
   */
  signingKeys?(target: { targetId: string | null; organisationId: string }, ctx: WorkScope): Buffer[] | Promise<Buffer[]>;
  /**
   * A call of this kind is being sent again (replayDelivery, recoverDeliveries): its row is written, not yet sent.
   * The kind writes what it keeps beside the delivery (Rocket.Chat's history run of the replay).
   */
  onReplay?(replay: ReplayedCall, ctx: WorkScope): void | Promise<void>;
  /** Each URL of a target of this kind has its own health (Rocket.Chat's outgoing URLs); default: one per target and channel. */
  healthPerUrl?: boolean;
}

/** A change of a target's health, as the worker reports it. */
export interface HealthChange {
  transition: HealthTransition;
  target: DeliveryTarget;
}

/** A replay as its kind sees it. */
export interface ReplayedCall {
  /** The new attempt's delivery id. */
  id: string;
  /** The attempt it sends again. */
  replayOf: string;
  /** The call's first attempt (its `webhook-id`). */
  webhookId: string;
  targetId: string | null;
  channelId: string | null;
  url: string;
  messageId: string | null;
}

/**
 * The outcome label of `switchboard_deliveries_total`: success; retry_scheduled (failed, the next attempt
 * is queued); gave_up (failed after the whole retry schedule); failure (failed, no retry: a single-attempt
 * call, 410 Gone, or refused by the kind's handler).
 */
export type AttemptOutcomeLabel = 'success' | 'failure' | 'retry_scheduled' | 'gave_up';

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

export interface WorkerOptions {
  pollMs?: number;
  batch?: number;
  concurrency?: number;
  /** Told of every change of a target's health (circuit opened or closed, disabled), after the attempt that caused it. */
  onHealthChange?: (change: HealthChange) => void;
  /**
   * Told of every attempt once its row is committed (not of one held by an open circuit, handed back on stop, or
   * whose row could not be written). Called synchronously on the attempt's path: keep it cheap, never throw.
   */
  onAttempt?: (attempt: RecordedAttempt) => void;
}

/** An attempt as recorded: its call and answer, the status its row got, and when. */
export interface RecordedAttempt {
  result: DeliveryResult;
  /** The row as it was claimed (its request id, when it was queued). */
  row: DeliveryRow;
  status: DeliveryStatus;
  outcome: AttemptOutcomeLabel;
  /** When its row was written (`updatedAt`). */
  at: Date;
  /** A retried attempt: when the next one is due. */
  retryAt: Date | null;
}

/** A running worker, as its Deliveries sees it: its claim token, and a way to hand it rows to send. */
export interface RunningWorker extends DeliveryWorker {
  token: string;
  send(row: DeliveryRow): void;
  /** Claim and send the next call of an ordered target now, if it is due and nothing of the target is in flight. */
  next(orderKey: string): void;
}

/**
 * Poll for due rows, claim them with an UPDATE guarded by status and lease (`lockedBy`, `lockedUntil`)
 * so two replicas never send the same attempt and a crashed replica's claims expire and are taken over,
 * send them (at most `concurrency` at once), record each attempt and queue the next one on the row's
 * retry schedule. `kinds` react to the answers of their kind.
 */
export function startDeliveryWorker(
  root: { em: EntityManager },
  deps: Deps,
  ledger: DeliveryLedger,
  kinds: ReadonlyMap<string, DeliveryKindHandler>,
  options: WorkerOptions = {},
): RunningWorker {
  const pollMs = options.pollMs ?? 1_000;
  const batch = options.batch ?? 100;
  const concurrency = options.concurrency ?? 64;
  const token = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
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
  /** Ordered targets with a call claimed by this worker (waiting or in flight): their next is claimed when it ends. */
  const busy = new Set<string>();
  /** Claims of ordered targets' next calls under way (`again`: asked for again meanwhile). */
  const nexts = new Map<string, { again: boolean; done: Promise<void> }>();

  function send(row: DeliveryRow) {
    if (stopped) {
      late.push(row);
      return;
    }
    if (row.orderKey) busy.add(row.orderKey);
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
      // Its outcome is committed: the target's next call may leave now, not at the next poll.
      if (row.orderKey) {
        busy.delete(row.orderKey);
        next(row.orderKey);
      }
      const queued = waiting.shift();
      if (queued) send(queued);
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
      ({ headers, body } = ledger.open(row));
    } catch {
      unreadable = true; // sealed with another SWITCHBOARD_SECRET_KEY: never sent without its credentials
    }
    const em = root.em.fork();
    const handler = kinds.get(row.kind);
    let keys: Buffer[] = [];
    if (!unreadable && handler?.signingKeys) {
      try {
        keys = await handler.signingKeys({ targetId: row.targetId, organisationId: row.organisation }, { em: em.fork(), deps });
      } catch (error) {
        unreadable = true; // never sent unsigned because its key could not be read
        deps.logger.warn({ err: error, kind: row.kind, deliveryId: row.id }, 'could not read the signing key of a delivery');
      }
    }
    // The target's health: an open circuit holds the attempt (not counted) until its probe; a disabled target
    // fails it at once. A replay is an admin's own act, usually right after fixing the endpoint: it goes out
    // through an open circuit (its outcome closes or keeps it), never to a disabled target.
    const ref: TargetRef = { kind: row.kind, organisation: row.organisation, targetId: row.targetId, channel: row.channel, url: row.url };
    const key = targetKey(ref, handler?.healthPerUrl === true);
    const settings = { ...deps.config.deliveries, probeMs: deps.config.outbound.timeoutMs + 5_000 };
    /** Give the claim back, due at `until`: the attempt is not made, nor counted. */
    const hold = async (until: Date, why: string) => {
      await em.fork().nativeUpdate(Delivery, { id: row.id, lockedBy: row.lockedBy, status: 'pending' }, { nextAttemptAt: until, lockedBy: null, lockedUntil: null });
      deps.logger.debug({ deliveryId: row.id, kind: row.kind, until }, `delivery held: ${why}`);
    };
    let disabled: string | null = null;
    if (!unreadable) {
      const g = await gate(em, key, new Date(), settings);
      if (!g.send && 'until' in g && !row.replayOf) return hold(g.until, "the target's circuit is open");
      if (!g.send && 'disabled' in g) disabled = g.disabled;
      // The target's throttle, replays included: its turn, reserved across replicas, or held until it nears.
      else if (g.maxPerSecond) {
        const turn = await deps.rateLimits.throttle(key, g.maxPerSecond, THROTTLE_HORIZON_MS);
        if ('retryInMs' in turn) return hold(new Date(Date.now() + turn.retryInMs), 'the target is throttled');
        if (turn.waitMs > 0) await new Promise((resolve) => setTimeout(resolve, turn.waitMs));
        // Stopped while waiting for its turn: handed back unsent (stop() may have done so already).
        if (stopped) return release([row], 'throttled');
      }
    }
    const outcome: AttemptOutcome = unreadable
      ? { statusCode: null, latencyMs: 0, error: 'the stored request or its signing key cannot be decrypted with the current SWITCHBOARD_SECRET_KEY: not sent', failure: 'unreadable', body: '', ok: false }
      : disabled
        ? { statusCode: null, latencyMs: 0, error: `not sent: the target is disabled (${disabled}); an admin re-enables it`, failure: 'disabled', body: '', ok: false }
        : await deps.deliveries.send({ url: row.url, body, headers, method: row.method, signing: { id: row.webhookId ?? row.id, keys } });
    // Handed back on stop while in flight: whoever claims it next makes the attempt again.
    if (abandoned.has(row.id)) return;
    let change: HealthChange | null = null;
    if (!unreadable && !disabled) {
      try {
        change = await recordOutcome(em, key, ref, outcome, new Date(), settings);
      } catch (error) {
        deps.logger.warn({ err: error, deliveryId: row.id }, 'could not record the health of a delivery target');
      }
    }
    let final = unreadable || !!disabled || outcome.ok || outcome.statusCode === 410 || row.attempt > row.retry.length;
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
        webhookId: row.webhookId ?? row.id,
        replayOf: row.replayOf ?? null,
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
    // A receiver that says when to come back (429/503 with Retry-After) is asked again then, not on the schedule,
    // within DELIVERY_RETRY_AFTER_MAX_SECONDS.
    const retryInMs = outcome.retryAfterMs != null ? Math.min(outcome.retryAfterMs, deps.config.deliveries.retryAfterMaxMs) : (row.retry[row.attempt - 1] ?? 0);
    const outcomeLabel: AttemptOutcomeLabel =
      status === 'succeeded' ? 'success' : status === 'retried' ? 'retry_scheduled' : row.retry.length && row.attempt > row.retry.length ? 'gave_up' : 'failure';
    deps.metrics.deliveries.inc({ kind: row.kind, outcome: outcomeLabel });
    const logged = { deliveryId: row.id, kind: row.kind, targetId: row.targetId, attempt: row.attempt, statusCode: outcome.statusCode, latencyMs: Math.round(outcome.latencyMs) };
    if (status === 'succeeded') deps.logger.debug(logged, 'delivery attempt succeeded');
    else if (status === 'retried') deps.logger.info({ ...logged, error: outcome.error, retryInMs, retryAfter: outcome.retryAfterMs != null }, 'delivery attempt failed; retry scheduled');
    else deps.logger.warn({ ...logged, error: outcome.error }, 'delivery failed; no further attempt');
    const next = status === 'retried' ? ledger.retryOf(row, now, retryInMs) : null;
    let recorded = false;
    try {
      recorded = await em.transactional(async (tx) => {
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
        if (!updated) return false;
        if (next) await ledger.insert(tx, [next]);
        return true;
      });
    } catch (error) {
      // The channel or organisation was deleted meanwhile (foreign key), or the database is down: the
      // lease expires and the attempt is made again, which is the at-least-once contract.
      deps.logger.warn({ err: error, deliveryId: row.id }, 'could not record a delivery attempt');
    }
    // Once committed, so whoever hears of it and reads the history finds the row; the attempt, then the change it caused.
    if (recorded) options.onAttempt?.({ result, row, status, outcome: outcomeLabel, at: now, retryAt: next?.nextAttemptAt ?? null });
    if (change) options.onHealthChange?.(change);
  }

  /**
   * Claim these rows, those still pending, due and unlocked (or with an expired lease), and send them. The UPDATE is
   * guarded by status and lease, so of two replicas that found the same row only one claims it. A row found as its
   * ordered target's first pending call stays first until it leaves `pending` (no earlier call of a target can be
   * written later: its calls are numbered in their own commit), so the guard needs no second look here.
   */
  async function claim(em: EntityManager, ids: string[], now: Date): Promise<number> {
    if (!ids.length) return 0;
    const lockedBy = `${token}:${randomBytes(3).toString('hex')}`;
    await em.nativeUpdate(
      Delivery,
      { id: { $in: ids }, status: 'pending', nextAttemptAt: { $lte: now }, $or: [{ lockedUntil: null }, { lockedUntil: { $lt: now } }] },
      { lockedBy, lockedUntil: new Date(now.getTime() + LEASE_MS) },
    );
    const claimed = await em.fork().find(Delivery, { lockedBy, status: 'pending' });
    for (const d of claimed) {
      send({
        ...(d as unknown as DeliveryRow),
        organisation: d.organisation.id,
        channel: d.channel?.id ?? null,
      });
    }
    return claimed.length;
  }

  async function pollOnce(): Promise<number> {
    if (stopped) return 0;
    const free = concurrency - inFlight.size;
    if (free <= 0) return 0;
    const em = root.em.fork();
    const now = new Date();
    const due = await em.find(
      Delivery,
      { status: 'pending', nextAttemptAt: { $lte: now }, $or: [{ lockedUntil: null }, { lockedUntil: { $lt: now } }], [headOfItsTarget()]: [] },
      { orderBy: { nextAttemptAt: 'asc' }, limit: Math.min(batch, free), fields: ['id'] },
    );
    return claim(em, due.map((d) => d.id), now);
  }

  /** Claim an ordered target's first pending call, if it is due and nobody holds it. */
  async function claimNext(orderKey: string) {
    const em = root.em.fork();
    const now = new Date();
    const first = await em.findOne(Delivery, { orderKey, status: 'pending' }, { orderBy: { seq: 'asc', id: 'asc' }, fields: ['id'] });
    if (first) await claim(em, [first.id], now);
  }

  /** The next call of an ordered target, claimed now (on any replica's commit it may be ours to send). */
  function next(orderKey: string) {
    if (stopped || busy.has(orderKey)) return;
    const running = nexts.get(orderKey);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false, done: Promise.resolve() };
    nexts.set(orderKey, state);
    state.done = (async () => {
      do {
        state.again = false;
        try {
          await claimNext(orderKey);
        } catch (error) {
          if (!stopped) deps.logger.warn({ err: error }, 'could not claim the next call of an ordered target');
        }
      } while (state.again && !stopped && !busy.has(orderKey));
    })().finally(() => nexts.delete(orderKey));
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
  void poll();

  return {
    token,
    send,
    next,
    poll,
    async stop(options = {}) {
      const began = Date.now();
      stopped = true;
      clearInterval(timer);
      // Claimed but not started: hand them back at once rather than after the lease. A poll (or a claim of an
      // ordered target's next call) that was running hands its claims to send(), which now keeps them aside (late)
      // for this release.
      await Promise.all([polling, ...[...nexts.values()].map((n) => n.done)]);
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
    },
  };
}
