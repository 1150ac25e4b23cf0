/**
 * Live access: what is open on this replica under a credential (graphql-ws sockets, and subscriptions over
 * graphql-ws or SSE), so that taking access away ends it at once, on every replica.
 *
 * - `revoke(event)` applies a revocation here and publishes it through the app's pubsub (Redis with REDIS_URL),
 *   so every replica applies it too (the echo of our own publish is harmless: ending twice does nothing):
 *   - a token revoked: every socket authenticated with it is closed with 4403 and every subscription opened
 *     with it ends;
 *   - a member removed from an organisation: that user's subscriptions authorised by their membership of that
 *     organisation end; their other subscriptions, and their sockets, stay.
 * - a token's `expiresAt` ends what it opened at that instant (one timer per holder, unref'd).
 * - a subscription can be authorised just before a revocation and registered just after it: revocations heard
 *   in the last RECENT_MS are remembered, and a holder whose credential was checked before a matching one ends
 *   as soon as it registers.
 *
 * Which organisations a subscription depends on is what its scope was authorised for: the organisations service
 * calls `tie(scope, organisationId)` each time it grants a membership check, and the subscription door reads
 * `tiesOf(scope)` when it registers the stream.
 */
import type { Deps, Scope } from '../../context.js';

declare module '../../context.js' {
  interface Deps {
    /** Live sockets and subscriptions by credential, ended when access is revoked (src/modules/auth/live-access.ts). */
    liveAccess: LiveAccess;
  }
}

/** Why a live holder ends. */
export type EndReason = 'token_revoked' | 'token_expired' | 'membership_removed';

/** An access revocation as replicas tell each other. */
export interface AccessRevoked {
  /** A token revoked: everything opened with it ends. */
  tokenId?: string;
  /** With `organisationId`: the user's subscriptions of that organisation end. */
  userId?: string;
  organisationId?: string;
}

/** A socket or subscription open under a credential. */
export interface LiveHolder {
  kind: 'socket' | 'subscription';
  userId: string;
  tokenId: string;
  expiresAt: Date | null;
  /** When its credential was checked (ms since the epoch): revocations heard after it apply. */
  checkedAt: number;
  /** Organisations whose membership authorised it (none for a socket). */
  organisations: ReadonlySet<string>;
  end(reason: EndReason, organisationId?: string): void;
}

/** The pubsub topic revocations travel on. */
const TOPIC = 'access-revoked';
/** How long a revocation is remembered for subscriptions still being set up when it arrived. */
const RECENT_MS = 60_000;
/** setTimeout's longest delay; later expiries re-arm. */
const MAX_TIMER_MS = 2_147_000_000;

interface Held {
  holder: LiveHolder;
  timer?: NodeJS.Timeout;
  ended: boolean;
}

export class LiveAccess {
  private readonly held = new Set<Held>();
  private readonly recent: { event: AccessRevoked; heardAt: number }[] = [];
  private readonly ties = new WeakMap<object, Set<string>>();
  private unlisten: (() => void) | null = null;

  constructor(private readonly deps: Pick<Deps, 'pubsub' | 'logger'>) {}

  /** Hear other replicas' revocations (and our own, through Redis). */
  async start() {
    this.unlisten ??= await this.deps.pubsub.onSignal(TOPIC, (payload) => this.apply(payload as AccessRevoked));
  }

  stop() {
    this.unlisten?.();
    this.unlisten = null;
    for (const held of this.held) clearTimeout(held.timer);
    this.held.clear();
  }

  /** End what the revocation covers here at once, and tell every other replica. */
  revoke(event: AccessRevoked) {
    this.apply(event);
    this.deps.pubsub.signal(TOPIC, event);
  }

  /** Record that `scope` was authorised by a membership of `organisationId` (what a later removal ends). */
  tie(scope: Scope, organisationId: string) {
    let set = this.ties.get(scope);
    if (!set) this.ties.set(scope, (set = new Set()));
    set.add(organisationId);
  }

  tiesOf(scope: Scope): ReadonlySet<string> {
    return this.ties.get(scope) ?? new Set();
  }

  /** Hold a socket or subscription until it ends; returns the function that lets it go (call it when it closes). */
  track(holder: LiveHolder): () => void {
    const held: Held = { holder, ended: false };
    this.held.add(held);
    const missed = this.recent.find((r) => r.heardAt >= holder.checkedAt && this.covers(r.event, holder));
    if (missed) this.end(held, this.reasonOf(missed.event), missed.event.organisationId);
    else this.arm(held);
    return () => {
      clearTimeout(held.timer);
      this.held.delete(held);
    };
  }

  /** How many holders of each kind are open here (for tests and metrics). */
  count(kind: LiveHolder['kind']) {
    let n = 0;
    for (const held of this.held) if (held.holder.kind === kind) n++;
    return n;
  }

  private apply(event: AccessRevoked) {
    const now = Date.now();
    this.recent.push({ event, heardAt: now });
    while (this.recent.length && this.recent[0].heardAt < now - RECENT_MS) this.recent.shift();
    const reason = this.reasonOf(event);
    for (const held of [...this.held]) if (this.covers(event, held.holder)) this.end(held, reason, event.organisationId);
  }

  private reasonOf(event: AccessRevoked): EndReason {
    return event.tokenId ? 'token_revoked' : 'membership_removed';
  }

  private covers(event: AccessRevoked, holder: LiveHolder) {
    if (event.tokenId) return holder.tokenId === event.tokenId;
    return !!event.userId && !!event.organisationId && holder.userId === event.userId && holder.organisations.has(event.organisationId);
  }

  private arm(held: Held) {
    const { expiresAt } = held.holder;
    if (!expiresAt) return;
    const left = expiresAt.getTime() - Date.now();
    if (left <= 0) return this.end(held, 'token_expired');
    held.timer = setTimeout(() => (left > MAX_TIMER_MS ? this.arm(held) : this.end(held, 'token_expired')), Math.min(left, MAX_TIMER_MS));
    held.timer.unref();
  }

  private end(held: Held, reason: EndReason, organisationId?: string) {
    if (held.ended) return;
    held.ended = true;
    clearTimeout(held.timer);
    this.held.delete(held);
    try {
      held.holder.end(reason, organisationId);
    } catch (error) {
      this.deps.logger.warn({ err: error, reason }, 'could not end a live subscription');
    }
  }
}
