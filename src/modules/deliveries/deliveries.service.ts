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
 *   write their own rows in the same transaction (a message and its output deliveries).
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
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Deps, Scope } from '../../context.js';
import { ValidationError } from '../../errors.js';
import { idPage } from '../../pagination.js';
import { newId } from '../../infra/ulid.js';
import { requireChannel } from '../channels/channels.service.js';
import { DELIVERY_STATUSES, Delivery, type DeliveryStatus } from './delivery.entity.js';
import { DeliveryLedger, type DeliveryRow, type EnqueueInput, type RecordInput } from './ledger.js';
import { sendOnce } from './sender.js';
import { LEASE_MS, startDeliveryWorker, type DeliveryKindHandler, type RunningWorker, type WorkerOptions } from './worker.js';

export { STANDARD_RETRY, type DeliveryRow, type EnqueueInput, type RecordInput } from './ledger.js';
export type { AttemptOutcome, Signing } from './sender.js';
export type { DeliveryKindHandler, DeliveryResult, DeliveryWorker } from './worker.js';

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

  constructor(private readonly base: Pick<Deps, 'config' | 'http' | 'metrics'>) {
    this.ledger = new DeliveryLedger(base.config.secretKey, base.metrics);
  }

  /** React to the answers of one kind of delivery (one handler per kind; the last registration wins). */
  registerKind(kind: string, handler: DeliveryKindHandler) {
    this.kinds.set(kind, handler);
  }

  /** Pending rows, claimed for this replica's worker (unless delayed), to insert and then `dispatch`. */
  stage(inputs: EnqueueInput[]): DeliveryRow[] {
    const now = new Date();
    const worker = this.current;
    return inputs.map((input) =>
      this.ledger.pending(input, now, worker && !input.delayMs ? { by: worker.token, until: new Date(now.getTime() + LEASE_MS) } : null),
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

  /** Count committed finished rows in `switchboard_deliveries_total`. */
  count(rows: DeliveryRow[]) {
    this.ledger.count(rows);
  }

  /** Hand committed rows from `stage` to the worker that claimed them. */
  dispatch(rows: DeliveryRow[]) {
    for (const row of rows) {
      // By token: a worker that is stopping hands back rows it claimed before it stopped.
      const worker = row.lockedBy ? this.byToken.get(row.lockedBy) : undefined;
      worker?.send(row);
    }
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
   * One JSON call through the guarded client, timed, never throwing: for callers that then `record` it with
   * `id` = `signing.id` (take one from `callId()` first, so the row's id is the `webhook-id` sent).
   */
  send(input: Parameters<typeof sendOnce>[1]) {
    return sendOnce(this.base, input);
  }

  /** A new delivery id, to sign a call made with `send` before its row is written. */
  callId(): string {
    return newId();
  }

  /** Start a worker on `root`'s database; new rows go to it. */
  startWorker(root: { em: EntityManager }, deps: Deps, options: WorkerOptions = {}): RunningWorker {
    const worker = startDeliveryWorker(root, deps, this.ledger, this.kinds, options);
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
