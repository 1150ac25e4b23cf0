/**
 * The deliveries table: the one place rows are built, sealed, written and opened. Every other module
 * goes through the app's Deliveries (deliveries.service.ts), never through the entity.
 *
 * Request headers and bodies may carry credentials (an Authorization header, a Rocket.Chat outgoing
 * webhook's `token`, integration settings): both are sealed with SWITCHBOARD_SECRET_KEY and never shown.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Deps } from '../../context.js';
import { decryptSecret, encryptSecret } from '../../infra/crypto.js';
import { currentRequestId } from '../../infra/logger.js';
import { newId } from '../../infra/ulid.js';
import { jsonText, sqlRun, type Statement } from '../../infra/sql.js';
import type { DeliveryStatus } from './delivery.entity.js';

/** Standard Webhooks' schedule after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const STANDARD_RETRY = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
/** How much of an answer's body a row keeps. */
export const RESPONSE_KEEP = 2_048;

/** What every recorded call says of itself: its kind, what it belongs to, where it went and what it sent. */
interface CallFields {
  kind: string;
  organisationId: string;
  channelId?: string | null;
  targetId?: string | null;
  url: string;
  method?: string;
  body?: unknown;
  messageId?: string | null;
  /** The request (or job run) the call comes from; default: the one in force. Its retries log under it. */
  requestId?: string | null;
}

/** A call for the worker to make (and retry). */
export interface EnqueueInput extends CallFields {
  headers?: Record<string, string> | null;
  retry?: number[];
  delayMs?: number;
  /**
   * The key of an ordered target (see health.ts `targetKey`): the call leaves only after every earlier call of the
   * target (by `seq`, which the caller sets in the transaction that commits the call) succeeded or was given up.
   */
  orderKey?: string | null;
}

/**
 * A call the caller made itself, with its outcome. Its body is not kept: a stored body is there for the worker to
 * send the same bytes again, and a call made by its caller (a modifier, a tick, a slash command) is never sent
 * again from its row (not retried, not replayable), so sealing and writing it would only cost.
 */
export interface RecordInput extends Omit<CallFields, 'body'> {
  /** The row's id: the `webhook-id` the call was signed with (`Deliveries.callId()` before `send`). Default: a new one. */
  id?: string;
  /** The `webhook-id` of a call attempted again (a tick retried within its slot): its first attempt's id. Default: `id`. */
  webhookId?: string | null;
  /** Which try of the same call this was (a tick retried within its slot: 1, 2, 3); default 1. */
  attempt?: number;
  statusCode?: number | null;
  latencyMs?: number | null;
  error?: string | null;
  response?: string | null;
}

/** The columns `insert` writes, in the order `deliveryValues` gives their values. */
export const DELIVERY_COLUMNS = [
  'id', 'webhook_id', 'organisation_id', 'channel_id', 'kind', 'target_id', 'url', 'method', 'body', 'headers', 'attempt', 'retry', 'status',
  'status_code', 'latency_ms', 'error', 'response', 'next_attempt_at', 'locked_by', 'locked_until', 'message_id', 'seq', 'order_key',
  'request_id', 'replay_of', 'created_at', 'updated_at',
];
const DELIVERY_INSERT = `insert into deliveries (${DELIVERY_COLUMNS.join(', ')}) values `;
const DELIVERY_ROW = `(${DELIVERY_COLUMNS.map(() => '?').join(', ')})`;
/** Rows per statement: within SQLite's 32,766 bound values. */
const INSERT_CHUNK = 1_000;

function deliveryValues(r: DeliveryRow): unknown[] {
  return [
    r.id, r.webhookId, r.organisation, r.channel, r.kind, r.targetId, r.url, r.method, jsonText(r.body), jsonText(r.headers), r.attempt,
    JSON.stringify(r.retry), r.status, r.statusCode, r.latencyMs, r.error, r.response, r.nextAttemptAt, r.lockedBy, r.lockedUntil, r.messageId,
    r.seq, r.orderKey, r.requestId, r.replayOf, r.createdAt, r.updatedAt,
  ];
}

type StoredHeaders = { sealed: string } | null;
type StoredBody = { sealedBody: string } | null;

/** A claim on a pending row: the worker that will send it, until when. */
export interface Lock {
  by: string;
  until: Date;
}

function row(input: EnqueueInput & { id?: string; webhookId?: string | null }, now: Date, lock: Lock | null, headers: StoredHeaders, body: StoredBody) {
  const id = input.id ?? newId(now.getTime());
  return {
    id,
    webhookId: (input.webhookId ?? id) as string | null,
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
    statusCode: null as number | null,
    latencyMs: null as number | null,
    error: null as string | null,
    response: null as string | null,
    nextAttemptAt: new Date(now.getTime() + (input.delayMs ?? 0)) as Date | null,
    lockedBy: lock?.by ?? null,
    lockedUntil: lock?.until ?? null,
    messageId: input.messageId ?? null,
    seq: null as number | null,
    orderKey: input.orderKey ?? null,
    requestId: (input.requestId ?? currentRequestId() ?? null)?.slice(0, 128) ?? null,
    replayOf: null as string | null,
    createdAt: now,
    updatedAt: now,
  };
}

/** A delivery row ready to insert (plain data, so it can be batched with other rows). */
export type DeliveryRow = ReturnType<typeof row>;

/** What a replay copies of the attempt it sends again. */
export type ReplaySource = Pick<DeliveryRow, 'id' | 'attempt' | 'webhookId' | 'organisation' | 'channel' | 'kind' | 'targetId' | 'url' | 'method' | 'messageId' | 'headers' | 'body'>;

export class DeliveryLedger {
  constructor(
    private readonly key: Buffer,
    private readonly metrics: Deps['metrics'],
    /** The schedule of calls enqueued without one (DELIVERY_RETRY_SCHEDULE; default STANDARD_RETRY). */
    private readonly retry: number[] = STANDARD_RETRY,
  ) {}

  /** A pending row (sealed), claimed by `lock` when a worker of this replica will send it right away. */
  pending(input: EnqueueInput, now: Date, lock: Lock | null): DeliveryRow {
    return row({ ...input, retry: input.retry ?? this.retry }, now, lock, this.seal(input.headers), this.sealBody(input.body));
  }

  /** A finished synchronous call (a modifier, a tick) as a row: succeeded on a 2xx without error, else failed. */
  finished(input: RecordInput, now = new Date()): DeliveryRow {
    const ok = !input.error && input.statusCode != null && input.statusCode >= 200 && input.statusCode < 300;
    return {
      ...row({ ...input, retry: [] }, now, null, null, null),
      attempt: input.attempt ?? 1,
      status: ok ? 'succeeded' : 'failed',
      statusCode: input.statusCode ?? null,
      latencyMs: input.latencyMs == null ? null : Math.round(input.latencyMs),
      error: input.error ?? null,
      response: input.response == null ? null : input.response.slice(0, RESPONSE_KEEP),
      nextAttemptAt: null,
    };
  }

  /** The next attempt of a row whose attempt failed and will be retried after `delayMs`. */
  retryOf(previous: DeliveryRow, now: Date, delayMs: number): DeliveryRow {
    return {
      ...previous,
      id: newId(now.getTime()),
      attempt: previous.attempt + 1,
      status: 'pending',
      nextAttemptAt: new Date(now.getTime() + delayMs),
      lockedBy: null,
      lockedUntil: null,
      createdAt: now,
      updatedAt: now,
    };
  }

  /**
   * A recorded attempt sent again, once: the next attempt (`attempt`) of the same call (same `webhookId`), with the
   * original's sealed request copied as it is stored, linked to it by `replayOf`. Throws when the stored request
   * cannot be opened with the current key (it would go out without its credentials).
   */
  replayOf(original: ReplaySource, attempt: number, now: Date, lock: Lock | null): DeliveryRow {
    this.open(original);
    const id = newId(now.getTime());
    return {
      ...row(
        {
          kind: original.kind,
          organisationId: original.organisation,
          channelId: original.channel,
          targetId: original.targetId,
          url: original.url,
          method: original.method,
          messageId: original.messageId,
          retry: [],
          id,
          webhookId: original.webhookId ?? original.id,
        },
        now,
        lock,
        original.headers as StoredHeaders,
        original.body as StoredBody,
      ),
      attempt,
      replayOf: original.id,
    };
  }

  /**
   * Write rows with `em` (inside the caller's transaction when `em` is in one): multi-row INSERTs with bound values,
   * as the ORM would write them (JSON as text) without its per-row metadata work, which a slot's thousands of tick
   * rows would pay.
   */
  async insert(em: EntityManager, rows: DeliveryRow[]) {
    for (const statement of this.insertStatements(rows)) await sqlRun(em, statement.text, statement.params);
  }

  /** The INSERT statements of `insert`, for a caller that runs them itself (the SQLite group commit). */
  insertStatements(rows: DeliveryRow[]): Statement[] {
    // Without its place an ordered call could never be placed among its target's others.
    const unplaced = rows.find((r) => r.orderKey && r.seq == null);
    if (unplaced) throw new Error(`delivery ${unplaced.id} of an ordered target has no seq`);
    const statements: Statement[] = [];
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const chunk = rows.slice(i, i + INSERT_CHUNK);
      statements.push({ text: DELIVERY_INSERT + chunk.map(() => DELIVERY_ROW).join(', '), params: chunk.flatMap(deliveryValues) });
    }
    return statements;
  }

  /** Count finished attempts (succeeded/failed/retried rows) in `switchboard_deliveries_total`, once committed. */
  count(rows: { kind: string; status: DeliveryStatus }[]) {
    for (const r of rows) {
      if (r.status === 'pending') continue;
      this.metrics.deliveries.inc({ kind: r.kind, outcome: r.status === 'succeeded' ? 'success' : r.status === 'retried' ? 'retry_scheduled' : 'failure' });
    }
  }

  /** The request to send again, opened; throws when it was sealed with another key. */
  open(stored: Pick<DeliveryRow, 'headers' | 'body'>): { headers?: Record<string, string>; body: unknown } {
    return { headers: this.openHeaders(stored.headers), body: this.openBody(stored.body) };
  }

  private seal(headers: Record<string, string> | null | undefined): StoredHeaders {
    if (!headers || !Object.keys(headers).length) return null;
    return { sealed: encryptSecret(this.key, JSON.stringify(headers)) };
  }

  /** Bodies are sealed whole: the history never shows them, so nothing is lost by not reading them back. */
  private sealBody(body: unknown): StoredBody {
    if (body === undefined || body === null) return null;
    return { sealedBody: encryptSecret(this.key, JSON.stringify(body)) };
  }

  /** Rows stored before bodies were sealed hold them in clear. */
  private openBody(stored: unknown): unknown {
    if (stored && typeof stored === 'object' && !Array.isArray(stored)) {
      const sealed = (stored as { sealedBody?: unknown }).sealedBody;
      if (typeof sealed === 'string' && Object.keys(stored).length === 1) return JSON.parse(decryptSecret(this.key, sealed));
    }
    return stored;
  }

  private openHeaders(stored: unknown): Record<string, string> | undefined {
    if (!stored || typeof stored !== 'object') return undefined;
    const sealed = (stored as { sealed?: unknown }).sealed;
    return typeof sealed === 'string' ? (JSON.parse(decryptSecret(this.key, sealed)) as Record<string, string>) : undefined;
  }
}
