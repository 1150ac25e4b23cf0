/**
 * Live delivery events (`deliveryEvents`): every attempt the worker records and every change of a target's health,
 * published on the organisation's pubsub topic once committed, so that subscribers on every replica hear them (Redis
 * with REDIS_URL) and find the row when they read the history. `Deliveries` publishes them (its worker's `onAttempt`
 * and `healthChanged`).
 *
 * Live only: an event published while nobody listens is gone, and nothing is replayed on resubscribing; the history
 * is `Channel.deliveries`. Events are built from what the worker already holds (no query per attempt), and not at all
 * when the pubsub knows nobody listens (in-process). They are small and JSON-safe: never a request body, headers or
 * the receiver's answer.
 */
import type { Scope } from '../../context.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import type { DeliveryEvent, DeliveryEventKind } from '../../infra/pubsub.js';
import { findChannelById } from '../channels/channels.service.js';
import { requireMembership } from '../organisations/organisations.service.js';
import type { Delivery } from './delivery.entity.js';
import type { HealthTransition } from './health.js';
import type { AttemptOutcomeLabel, HealthChange, RecordedAttempt } from './worker.js';

export type { DeliveryEventKind } from '../../infra/pubsub.js';

/** What the `Delivery` type shows: a stored row, or an attempt as `deliveryEvents` carries it (without its answer). */
export type DeliveryView = Pick<
  Delivery,
  | 'id'
  | 'kind'
  | 'targetId'
  | 'url'
  | 'attempt'
  | 'status'
  | 'statusCode'
  | 'latencyMs'
  | 'error'
  | 'response'
  | 'nextAttemptAt'
  | 'messageId'
  | 'webhookId'
  | 'replayOf'
  | 'requestId'
  | 'createdAt'
  | 'updatedAt'
> & { channel?: { id: string } | null };

export type DeliveryEventTargetView = Omit<NonNullable<DeliveryEvent['target']>, 'openUntil'> & { channelId: string | null; openUntil: Date | null };

/** A delivery event as the GraphQL door shows it. */
export interface DeliveryEventView {
  kind: DeliveryEventKind;
  at: Date;
  organisationId: string;
  channelId: string | null;
  delivery: DeliveryView | null;
  target: DeliveryEventTargetView | null;
  retryAt: Date | null;
}

const ATTEMPT: Record<AttemptOutcomeLabel, DeliveryEventKind> = {
  success: 'ATTEMPT_SUCCEEDED',
  retry_scheduled: 'ATTEMPT_RETRIED',
  failure: 'ATTEMPT_FAILED',
  gave_up: 'ATTEMPT_GAVE_UP',
};

const TRANSITION: Record<HealthTransition, DeliveryEventKind> = {
  opened: 'TARGET_OPENED',
  closed: 'TARGET_CLOSED',
  disabled: 'TARGET_DISABLED',
  reenabled: 'TARGET_REENABLED',
};

/** The event of an attempt the worker recorded. */
export function attemptEvent({ result, row, status, outcome, at, retryAt }: RecordedAttempt): DeliveryEvent {
  const d = result.delivery;
  return {
    kind: ATTEMPT[outcome],
    at: at.toISOString(),
    organisationId: d.organisationId,
    channelId: d.channelId,
    delivery: {
      id: d.id,
      kind: d.kind,
      targetId: d.targetId,
      url: d.url,
      attempt: d.attempt,
      status: status as Exclude<typeof status, 'pending'>,
      statusCode: result.statusCode,
      latencyMs: Math.round(result.latencyMs),
      error: result.error,
      messageId: d.messageId,
      webhookId: d.webhookId,
      replayOf: d.replayOf,
      requestId: row.requestId,
      createdAt: row.createdAt.toISOString(),
    },
    target: null,
    retryAt: retryAt?.toISOString() ?? null,
  };
}

/** The event of a change of a target's health (the worker's circuit, or an admin's re-enabling). */
export function healthEvent({ transition, target: t }: HealthChange): DeliveryEvent {
  return {
    kind: TRANSITION[transition],
    at: (t.updatedAt ?? new Date()).toISOString(),
    organisationId: t.organisation.id,
    channelId: t.channelId ?? null,
    delivery: null,
    target: {
      kind: t.kind,
      targetId: t.targetId ?? null,
      url: t.url,
      state: t.state,
      consecutiveFailures: t.consecutiveFailures,
      openUntil: t.state === 'open' ? (t.openUntil?.toISOString() ?? null) : null,
      lastError: t.lastError ?? null,
      disabledReason: t.state === 'disabled' ? (t.disabledReason ?? null) : null,
    },
    retryAt: null,
  };
}

function toView(e: DeliveryEvent): DeliveryEventView {
  const d = e.delivery;
  const at = new Date(e.at);
  return {
    kind: e.kind,
    at,
    organisationId: e.organisationId,
    channelId: e.channelId,
    // The row as it was written, less its answer (`response`), which the history keeps.
    delivery: d && {
      ...d,
      channel: e.channelId ? { id: e.channelId } : null,
      response: null,
      nextAttemptAt: null,
      createdAt: new Date(d.createdAt),
      updatedAt: at,
    },
    target: e.target && { ...e.target, channelId: e.channelId, openUntil: e.target.openUntil ? new Date(e.target.openUntil) : null },
    retryAt: e.retryAt ? new Date(e.retryAt) : null,
  };
}

/**
 * An organisation's delivery events from now on (of one channel with `channelId`), as this replica hears them. Members
 * may watch, as they may read `Channel.deliveries` (the same URLs and errors); another organisation's (or channel's)
 * answers NotFound. The membership checked here is what the subscription lives by: removing the member ends it.
 *
 * A subscriber that lets more than DELIVERY_EVENTS_BACKLOG events wait (it is not reading them) gets those, then a
 * ConflictError as the stream's last item, and the stream ends: it would otherwise hold them without bound, and
 * dropping some silently would make the stream lie.
 */
export async function deliveryEventStream(scope: Scope, organisationId: string, channelId: string | null): Promise<AsyncIterableIterator<DeliveryEventView | ConflictError>> {
  const organisation = await requireMembership(scope, organisationId);
  if (channelId != null) {
    const channel = await findChannelById(scope, channelId);
    if (channel?.organisation.id !== organisation.id) throw new NotFoundError('channel', channelId);
  }
  const backlog = scope.deps.config.deliveries.eventsBacklog;
  const waiting: DeliveryEvent[] = [];
  let behind = false;
  let done = false;
  let wake: (() => void) | null = null;
  const stop = await scope.deps.pubsub.listenDeliveries(organisation.id, (event) => {
    if (done || (channelId != null && event.channelId !== channelId)) return;
    if (waiting.length >= backlog) behind = true;
    else if (!behind) waiting.push(event);
    const w = wake;
    wake = null;
    w?.();
  });
  const finish = () => {
    if (done) return;
    done = true;
    stop();
    const w = wake;
    wake = null;
    w?.();
  };
  const iterator: AsyncIterableIterator<DeliveryEventView | ConflictError> = {
    [Symbol.asyncIterator]: () => iterator,
    async next() {
      while (!done) {
        const event = waiting.shift();
        if (event) return { value: toView(event), done: false };
        if (behind) {
          finish();
          return {
            value: new ConflictError(`this subscriber fell more than ${backlog} delivery events behind (DELIVERY_EVENTS_BACKLOG) and later events were not kept: read Channel.deliveries and subscribe again`),
            done: false,
          };
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
      return { value: undefined, done: true };
    },
    async return() {
      finish();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      finish();
      throw error;
    },
  };
  return iterator;
}
