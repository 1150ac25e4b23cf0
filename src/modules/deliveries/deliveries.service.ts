/**
 * Deliveries: every outbound call the gateway makes, recorded one row per attempt, and a durable queue
 * with retries for the calls that may be retried (outputs, outgoing webhooks, custom channels ...).
 * Each app has one `Deliveries` (built by buildApp, reached as `deps.deliveries`); it is the only way
 * into the deliveries table:
 *
 * - `enqueue(em, input)`: a pending row, committed with `em` (inside the caller's transaction when it
 *   is in one) and handed to this replica's worker, which sends it at once (or after `delayMs`).
 *   `retry` is the schedule in ms after each failed attempt (default STANDARD_RETRY, the Standard
 *   Webhooks schedule; [] is a single attempt). A 2xx succeeds; 410 Gone is final; anything else is
 *   retried. Each attempt is its own row (attempt 1, 2, ...); one that will be retried becomes `retried`.
 * - `stage(inputs)` + `insert(tx, rows)` + `dispatch(rows)`: the same in three steps, for callers that
 *   write their own rows in the same transaction (a message and its output deliveries). A call to an ordered
 *   target (`orderKey`, see `setTargetOptions`) must be written this way, with its `seq` set in that transaction:
 *   it is not claimed at staging; `dispatch` asks the worker for the target's next call instead.
 * - `finished(input)` / `record(em, input)`: a call the caller made itself (`send`) as a finished row
 *   (`count` the finished rows you insert yourself once they are committed).
 * - `registerKind(kind, handler)`: react to every answer of a kind (an output's 410 switches it off; a
 *   Rocket.Chat reply is posted back); return `{ retry: false }` to stop further attempts.
 *   `handler.signingKeys` gives the HMAC keys a kind's calls are signed with (Standard Webhooks headers,
 *   added by the sender at each attempt, `webhook-id` = the first attempt's id); `send` callers pass
 *   `signing: { id: callId(), keys }` themselves and record the row with that id.
 *
 * Each row keeps the request id it came from: the worker makes every attempt, retries hours later too,
 * under it, so their log lines name the original request.
 *
 * Every attempt the worker records (once committed) and every change of a target's health is published here, and
 * only here, to the organisation's `deliveryEvents` subscribers on every replica (delivery-events.ts).
 *
 * Replays (`replayDelivery`, `recoverDeliveries`, Rocket.Chat's integrations.replay/recover) send a recorded call
 * again: a new row, the next attempt of the same call (same `webhook-id`, so receivers deduplicate it), made once,
 * with the original's sealed body and headers, `replayOf` naming the attempt it repeats. Only kinds the queue
 * sends (those registered with `registerKind`) can be replayed: a modifier's or a tick's answer had its moment.
 */
import type { EntityManager } from '@mikro-orm/core';
import { Counter } from 'prom-client';
import type { Deps, Scope, WorkScope } from '../../context.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import { idPage } from '../../pagination.js';
import { newId } from '../../infra/ulid.js';
import { requireViewer } from '../auth/auth.service.js';
import { requireChannel } from '../channels/channels.service.js';
import { requireMembership } from '../organisations/organisations.service.js';
import { DELIVERY_STATUSES, Delivery, type DeliveryStatus } from './delivery.entity.js';
import { DeliveryLedger, type DeliveryRow, type EnqueueInput, type RecordInput, type ReplaySource } from './ledger.js';
import { SendThreads } from './send-threads.js';
import { sendOnce, type SendInput } from './sender.js';
import { LEASE_MS, startDeliveryWorker, type DeliveryKindHandler, type HealthChange, type RecordedAttempt, type RunningWorker, type WorkerOptions } from './worker.js';
import { DeliveryTarget } from './delivery-target.entity.js';
import { reenable, setTargetOptions, targetKey, targetOptions, DEFAULT_TARGET_OPTIONS, type TargetOptions, type TargetRef } from './health.js';
import { attemptEvent, healthEvent } from './delivery-events.js';
import type { DeliveryEvent } from '../../infra/pubsub.js';

export { STANDARD_RETRY, type DeliveryRow, type EnqueueInput, type RecordInput } from './ledger.js';
export type { AttemptOutcome, Signing } from './sender.js';
export type { DeliveryKindHandler, DeliveryResult, DeliveryWorker, ReplayedCall } from './worker.js';
export type { TargetOptions } from './health.js';

/** The most calls one recovery sends again (the oldest first); run it again for the rest. */
export const RECOVER_MAX = 1_000;

declare module '../../context.js' {
  interface Deps {
    /** The deliveries table and its worker (src/modules/deliveries). */
    deliveries: Deliveries;
  }
}

export class Deliveries {
  private readonly ledger: DeliveryLedger;
  private readonly kinds = new Map<string, DeliveryKindHandler>();
  /** The worker this replica's new rows go to (the last one started). */
  private current: RunningWorker | null = null;
  /** Workers by claim token until their stop has finished: rows staged before a stop still reach theirs. */
  private readonly byToken = new Map<string, RunningWorker>();

  /** Changes of targets' health, in /metrics (switchboard_delivery_target_transitions_total). */
  private readonly transitions: Counter<'kind' | 'transition'>;
  /** Where `send` makes its calls: sender threads, or (OUTBOUND_THREADS=0) this thread. */
  private readonly threads: SendThreads | null;

  constructor(private readonly base: Pick<Deps, 'config' | 'http' | 'metrics' | 'pubsub' | 'logger'>) {
    this.ledger = new DeliveryLedger(base.config.secretKey, base.metrics, base.config.deliveries.retryMs);
    const { outbound } = base.config;
    this.threads = outbound.threads ? new SendThreads(outbound, outbound.threads, base.logger) : null;
    this.transitions = new Counter({
      name: 'switchboard_delivery_target_transitions_total',
      help: 'Changes of a delivery target\'s health, by kind and transition (opened, closed, disabled, reenabled)',
      labelNames: ['kind', 'transition'] as const,
      registers: [base.metrics.registry],
    });
  }

  /** A target's health changed (the worker's circuit, or an admin): counted, logged, told to `deliveryEvents`. */
  healthChanged(change: HealthChange, deps: Pick<Deps, 'logger'>) {
    this.transitions.inc({ kind: change.target.kind, transition: change.transition });
    const t = change.target;
    const line = { kind: t.kind, targetId: t.targetId, channelId: t.channelId, transition: change.transition, state: t.state, consecutiveFailures: t.consecutiveFailures };
    if (change.transition === 'closed' || change.transition === 'reenabled') deps.logger.info(line, 'delivery target healthy again');
    else deps.logger.warn({ ...line, lastError: t.lastError }, change.transition === 'disabled' ? 'delivery target disabled' : 'delivery target circuit opened');
    this.publish(t.organisation.id, () => healthEvent(change));
  }

  /** An attempt the worker recorded (committed): told to `deliveryEvents` (counted and logged by the worker). */
  private attempted(attempt: RecordedAttempt) {
    this.publish(attempt.result.delivery.organisationId, () => attemptEvent(attempt));
  }

  /** Tell the organisation's `deliveryEvents` subscribers on every replica; the event is built only if one may listen. */
  private publish(organisationId: string, event: () => DeliveryEvent) {
    const { pubsub, logger } = this.base;
    try {
      if (pubsub.wantsDeliveries(organisationId)) pubsub.publishDelivery(organisationId, event());
    } catch (error) {
      logger.warn({ err: error, organisationId }, 'could not publish a delivery event');
    }
  }

  /** The health key of a target (see health.ts), with the kind's rule for URLs. */
  healthKey(ref: { kind: string; targetId: string | null; channel: string | null; url: string }): string {
    return targetKey(ref, this.kinds.get(ref.kind)?.healthPerUrl === true);
  }

  /** React to the answers of one kind of delivery (one handler per kind; the last registration wins). */
  registerKind(kind: string, handler: DeliveryKindHandler) {
    this.kinds.set(kind, handler);
  }

  /**
   * Pending rows, claimed for this replica's worker (unless delayed, or of an ordered target: those are claimed in
   * their turn), to insert and then `dispatch`.
   */
  stage(inputs: EnqueueInput[]): DeliveryRow[] {
    const now = new Date();
    const worker = this.current;
    return inputs.map((input) =>
      this.ledger.pending(input, now, worker && !input.delayMs && !input.orderKey ? { by: worker.token, until: new Date(now.getTime() + LEASE_MS) } : null),
    );
  }

  /** A finished call (made with `send`) as a row, to insert with others. */
  finished(input: RecordInput, now = new Date()): DeliveryRow {
    return this.ledger.finished(input, now);
  }

  /** Write rows with `em`, inside the caller's transaction when it is in one; `count` them once committed. */
  insert(em: EntityManager, rows: DeliveryRow[]) {
    return this.ledger.insert(em, rows);
  }

  /** The statements `insert` runs, for a caller that runs them itself (the SQLite group commit). */
  insertStatements(rows: DeliveryRow[]) {
    return this.ledger.insertStatements(rows);
  }

  /** Count committed finished rows in `switchboard_deliveries_total`. */
  count(rows: DeliveryRow[]) {
    this.ledger.count(rows);
  }

  /** Hand committed rows from `stage` to the worker that claimed them; for ordered targets, ask for their next call. */
  dispatch(rows: DeliveryRow[]) {
    const ordered = new Set<string>();
    for (const row of rows) {
      if (row.orderKey) {
        if (!row.lockedBy) ordered.add(row.orderKey);
        continue;
      }
      // By token: a worker that is stopping hands back rows it claimed before it stopped.
      const worker = row.lockedBy ? this.byToken.get(row.lockedBy) : undefined;
      worker?.send(row);
    }
    for (const key of ordered) this.current?.next(key);
  }

  /** The options of these targets (by health key; the defaults where none were set), in order. */
  async options(em: EntityManager, keys: string[]): Promise<TargetOptions[]> {
    const set = await targetOptions(em, keys);
    return keys.map((k) => set.get(k) ?? DEFAULT_TARGET_OPTIONS);
  }

  /**
   * Set how a target's calls are sent (absent options keep their value): `ordered`, one at a time in commit order;
   * `maxPerSecond`, at most this many calls per second across replicas (null: no throttle). No authorisation: the
   * caller's service checked it. Answers the options now in force.
   */
  setOptions(em: EntityManager, ref: TargetRef, options: Partial<TargetOptions>): Promise<TargetOptions> {
    return setTargetOptions(em, this.healthKey(ref), ref, options);
  }

  async enqueue(em: EntityManager, input: EnqueueInput): Promise<{ id: string }> {
    const rows = this.stage([input]);
    await this.insert(em, rows);
    this.dispatch(rows);
    return { id: rows[0].id };
  }

  async record(em: EntityManager, input: RecordInput): Promise<{ id: string }> {
    const row = this.finished(input);
    await this.insert(em, [row]);
    this.count([row]);
    return { id: row.id };
  }

  /**
   * One JSON call through the guarded client, timed, never throwing, made on a sender thread (OUTBOUND_THREADS):
   * the worker's deliveries, ticks, modifiers and slash commands all call through here. Callers that then `record`
   * it use `id` = `signing.id` (take one from `callId()` first, so the row's id is the `webhook-id` sent).
   */
  send(input: SendInput) {
    return this.threads ? this.threads.send(input) : sendOnce(this.base, input);
  }

  /** Start the sender threads (the app's start), so that no call waits for one to load. */
  startThreads() {
    this.threads?.start();
  }

  /** Stop the sender threads (once nothing sends any more: the app's last steps). */
  async close() {
    await this.threads?.close();
  }

  /**
   * Give up the pending calls of these targets (an integration switched off): each becomes `failed` with `reason`
   * and is not sent again. An attempt already on the wire finishes.
   */
  async abandonPending(em: EntityManager, kind: string, targetIds: string[], reason: string): Promise<number> {
    if (!targetIds.length) return 0;
    return em.nativeUpdate(
      Delivery,
      { kind, targetId: { $in: targetIds }, status: 'pending' },
      { status: 'failed', error: reason, nextAttemptAt: null, lockedBy: null, lockedUntil: null },
    );
  }

  /** A new delivery id, to sign a call made with `send` before its row is written. */
  callId(): string {
    return newId();
  }

  /** Whether calls of this kind can be sent again: the queue sends them and a kind reacts to their answers. */
  replayable(kind: string): boolean {
    return this.kinds.has(kind);
  }

  /**
   * Send recorded attempts again, once each, now: the next attempt of each call, written with `em` in one
   * transaction, handed to the kinds (`onReplay`) and then to this replica's worker. Returns the new rows.
   */
  async replay({ em, deps }: WorkScope, originals: ReplaySource[]): Promise<DeliveryRow[]> {
    if (!originals.length) return [];
    const calls = [...new Set(originals.map((o) => o.webhookId ?? o.id))];
    const attempts = await em.find(Delivery, { $or: [{ webhookId: { $in: calls } }, { id: { $in: calls } }] }, { fields: ['id', 'webhookId', 'attempt'] });
    const last = new Map<string, number>();
    for (const a of attempts) {
      const call = a.webhookId ?? a.id;
      last.set(call, Math.max(last.get(call) ?? 0, a.attempt));
    }
    const now = new Date();
    const worker = this.current;
    const lock = worker ? { by: worker.token, until: new Date(now.getTime() + LEASE_MS) } : null;
    const rows = originals.map((original) => {
      const call = original.webhookId ?? original.id;
      const attempt = (last.get(call) ?? original.attempt) + 1;
      last.set(call, attempt);
      try {
        return this.ledger.replayOf(original, attempt, now, lock);
      } catch {
        throw new ConflictError(
          `delivery ${original.id} was stored with another SWITCHBOARD_SECRET_KEY: its request cannot be opened, so it cannot be sent again`,
          'deliveryId',
        );
      }
    });
    await em.transactional((tx) => this.insert(tx, rows));
    for (const r of rows) {
      await this.kinds.get(r.kind)?.onReplay?.(
        { id: r.id, replayOf: r.replayOf!, webhookId: r.webhookId ?? r.id, targetId: r.targetId, channelId: r.channel, url: r.url, messageId: r.messageId },
        { em: em.fork(), deps },
      );
    }
    this.dispatch(rows);
    return rows;
  }

  /** Start a worker on `root`'s database; new rows go to it. */
  startWorker(root: { em: EntityManager }, deps: Deps, options: WorkerOptions = {}): RunningWorker {
    const worker = startDeliveryWorker(root, deps, this.ledger, this.kinds, {
      ...options,
      onHealthChange: (change) => {
        this.healthChanged(change, deps);
        options.onHealthChange?.(change);
      },
      onAttempt: (attempt) => {
        this.attempted(attempt);
        options.onAttempt?.(attempt);
      },
    });
    this.current = worker;
    this.byToken.set(worker.token, worker);
    return {
      ...worker,
      stop: async (stopOptions) => {
        if (this.current === worker) this.current = null;
        await worker.stop(stopOptions);
        this.byToken.delete(worker.token);
      },
    };
  }
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

// ---------------------------------------------------------------------------------------------------
// Replay and recovery

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/i;

function source(d: Delivery): ReplaySource {
  return { ...(d as unknown as DeliveryRow), organisation: d.organisation.id, channel: d.channel?.id ?? null };
}

/**
 * Send one recorded call again (admins of its organisation). A delivery of an organisation you are not a member
 * of answers NotFound, as one that does not exist; a pending one (it will be sent anyway) is a Conflict; a kind
 * that is not queued (modifier, tick, slash command) a ValidationError.
 */
export async function replayDelivery(scope: Scope, input: { deliveryId: string }): Promise<Delivery> {
  requireViewer(scope);
  const original = ULID.test(input.deliveryId) ? await scope.em.findOne(Delivery, { id: input.deliveryId.toUpperCase() }) : null;
  if (!original) throw new NotFoundError('delivery', input.deliveryId);
  try {
    await requireMembership(scope, original.organisation.id, 'admin');
  } catch (error) {
    if (error instanceof NotFoundError) throw new NotFoundError('delivery', input.deliveryId);
    throw error;
  }
  if (original.status === 'pending') {
    throw new ConflictError(`delivery ${original.id} is still pending: it will be sent at ${original.nextAttemptAt?.toISOString() ?? 'its time'}`, 'deliveryId');
  }
  if (!scope.deps.deliveries.replayable(original.kind)) {
    throw new ValidationError('deliveryId', `a ${original.kind} call cannot be sent again: its answer was used when it was made (only queued calls such as outputs, Rocket.Chat outgoing calls and custom channels can)`);
  }
  const [row] = await scope.deps.deliveries.replay(scope, [source(original)]);
  return scope.em.findOneOrFail(Delivery, { id: row.id });
}

export interface RecoverInput {
  organisationId: string;
  /** Null: every channel of the target. */
  channelId: string | null;
  targetId: string;
  since: Date;
}

/**
 * Send again every call of one target that failed since a time (no authorisation: the door's service checked the
 * caller is an admin of `organisationId`). A call is sent again once, from its last failed attempt, when none of
 * its attempts succeeded or is pending (a replay already under way); at most RECOVER_MAX calls, oldest first.
 */
export async function recoverTarget(scope: Scope, input: RecoverInput) {
  if (!(input.since instanceof Date) || Number.isNaN(input.since.getTime())) throw new ValidationError('since', 'since must be a date and time');
  if (input.since.getTime() > Date.now()) throw new ValidationError('since', 'since is in the future: nothing has failed since then');
  const where = {
    organisation: input.organisationId,
    targetId: input.targetId,
    ...(input.channelId ? { channel: input.channelId } : {}),
    status: 'failed' as const,
    updatedAt: { $gte: input.since },
  };
  const failed = await scope.em.find(Delivery, where, { orderBy: { id: 'asc' } });
  const latest = new Map<string, Delivery>();
  for (const d of failed) latest.set(d.webhookId ?? d.id, d);
  const calls = [...latest.keys()];
  const settled = new Set<string>();
  for (let i = 0; i < calls.length; i += 500) {
    const chunk = calls.slice(i, i + 500);
    const rows = await scope.em.find(Delivery, { $or: [{ webhookId: { $in: chunk } }, { id: { $in: chunk } }], status: { $in: ['succeeded', 'pending'] } }, { fields: ['id', 'webhookId'] });
    for (const r of rows) settled.add(r.webhookId ?? r.id);
  }
  const due = [...latest.entries()]
    .filter(([call, d]) => !settled.has(call) && scope.deps.deliveries.replayable(d.kind))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, d]) => d);
  const sent = due.slice(0, RECOVER_MAX);
  const rows = await scope.deps.deliveries.replay(scope, sent.map(source));
  const deliveries = rows.length ? await scope.em.find(Delivery, { id: { $in: rows.map((r) => r.id) } }, { orderBy: { id: 'asc' } }) : [];
  return { deliveries, remaining: due.length - sent.length };
}

/** Send again every call of an integration on a channel that failed since `since` (admins of the channel's organisation). */
export async function recoverDeliveries(scope: Scope, input: { channelId: string; integrationId: string; since: Date }) {
  const channel = await requireChannel(scope, input.channelId, 'admin');
  if (!input.integrationId || input.integrationId.length > 64) throw new ValidationError('integrationId', 'integrationId must be the id of an integration (or custom channel connection) of the channel');
  return recoverTarget(scope, { organisationId: channel.organisation.id, channelId: channel.id, targetId: input.integrationId, since: input.since });
}

// ---------------------------------------------------------------------------------------------------
// Endpoint health

/** How far back `failureRate` looks. */
export const HEALTH_WINDOW_MS = 24 * 3_600_000;

export interface TargetHealthView {
  id: string | null;
  state: DeliveryTarget['state'];
  consecutiveFailures: number;
  failingSince: Date | null;
  openUntil: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  lastSuccessAt: Date | null;
  disabledReason: string | null;
  disabledAt: Date | null;
  attempts: number;
  failures: number;
}

/** The health of the target `key` (no viewer check: the caller has one), with its attempts of the last 24 hours. */
export async function targetHealth(em: EntityManager, key: string, calls: { organisationId: string; channelId: string | null; targetId: string; kinds: string[]; url?: string }): Promise<TargetHealthView> {
  const t = await em.findOne(DeliveryTarget, { key });
  const since = new Date(Date.now() - HEALTH_WINDOW_MS);
  const where = {
    organisation: calls.organisationId,
    targetId: calls.targetId,
    kind: { $in: calls.kinds },
    ...(calls.channelId ? { channel: calls.channelId } : {}),
    ...(calls.url ? { url: calls.url } : {}),
    createdAt: { $gte: since },
  };
  const attempts = await em.count(Delivery, { ...where, status: { $in: ['succeeded', 'failed', 'retried'] } });
  // Two counts, not one snapshot: an attempt finishing between them must not make the rate exceed 1.
  const failures = attempts ? Math.min(attempts, await em.count(Delivery, { ...where, status: { $in: ['failed', 'retried'] } })) : 0;
  return {
    id: t?.id ?? null,
    state: t?.state ?? 'closed',
    consecutiveFailures: t?.consecutiveFailures ?? 0,
    failingSince: t?.failingSince ?? null,
    openUntil: t?.state === 'open' ? (t.openUntil ?? null) : null,
    lastError: t?.lastError ?? null,
    lastErrorAt: t?.lastErrorAt ?? null,
    lastSuccessAt: t?.lastSuccessAt ?? null,
    disabledReason: t?.state === 'disabled' ? (t.disabledReason ?? null) : null,
    disabledAt: t?.state === 'disabled' ? (t.disabledAt ?? null) : null,
    attempts,
    failures,
  };
}

/** The target of an integration's queued calls on a channel (outputs, and interval integrations' target_url). */
export function channelIntegrationTarget(link: { organisationId: string; channelId: string; integrationId: string }): TargetRef {
  return { kind: 'output', organisation: link.organisationId, targetId: link.integrationId, channel: link.channelId, url: '' };
}

/** The health of an integration's queued calls on a channel (outputs, and interval integrations' target_url). */
export function channelIntegrationHealth(scope: Pick<Scope, 'em' | 'deps'>, link: { organisationId: string; channelId: string; integrationId: string }) {
  const key = scope.deps.deliveries.healthKey(channelIntegrationTarget(link));
  return targetHealth(scope.em, key, { organisationId: link.organisationId, channelId: link.channelId, targetId: link.integrationId, kinds: ['output'] });
}

/**
 * Re-enable an integration's calls on a channel (admins): a disabled target (or an open circuit) is closed, its
 * failures forgotten; calls that failed meanwhile can then be sent again with recoverDeliveries.
 */
export async function reenableDeliveryTarget(scope: Scope, input: { channelId: string; integrationId: string }) {
  const channel = await requireChannel(scope, input.channelId, 'admin');
  await reenableTarget(scope, scope.deps.deliveries.healthKey(channelIntegrationTarget({ organisationId: channel.organisation.id, channelId: channel.id, integrationId: input.integrationId })));
  return channelIntegrationHealth(scope, { organisationId: channel.organisation.id, channelId: channel.id, integrationId: input.integrationId });
}

/**
 * Close the target `key` and forget its failures, telling its change (no viewer check: the caller's service checked
 * the viewer may, as for targetHealth). A target that never failed has nothing to re-enable.
 */
export async function reenableTarget(scope: Pick<Scope, 'em' | 'deps'>, key: string) {
  const { transition, target } = await reenable(scope.em, key, new Date());
  if (transition && target) scope.deps.deliveries.healthChanged({ transition, target }, scope.deps);
}

/** The delivery options of integrations' queued calls on channels, in order (batched: one query for them all). */
export function channelIntegrationOptions(scope: Pick<Scope, 'em' | 'deps'>, links: readonly { organisationId: string; channelId: string; integrationId: string }[]) {
  return scope.deps.deliveries.options(scope.em, links.map((l) => scope.deps.deliveries.healthKey(channelIntegrationTarget(l))));
}
