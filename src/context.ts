import type { EntityManager } from '@mikro-orm/core';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { HttpClient } from './infra/http.js';
import type { Hooks } from './infra/hooks.js';
import type { PubSub } from './infra/pubsub.js';
import type { Scheduler } from './infra/scheduler.js';
import type { Metrics } from './infra/metrics.js';
import type { Readiness } from './infra/readiness.js';
import type { User } from './modules/auth/user.entity.js';

/** Process-wide collaborators, built once by buildApp. */
export interface Deps {
  config: Config;
  http: HttpClient;
  hooks: Hooks;
  logger: Logger;
  /** Prometheus metrics (src/infra/metrics.ts): each path increments its own. */
  metrics: Metrics;
  /** Named readiness checks behind GET /readyz; register one for each dependency you connect to. */
  readiness: Readiness;
  /** Channel messages and delivery events to subscribers on every replica, and signals between replicas (Redis with REDIS_URL, in-process otherwise). */
  pubsub: PubSub;
  /** Agenda on the configured job store (src/infra/scheduler.ts): tick jobs. */
  scheduler: Scheduler;
}

/**
 * What every service call receives: a forked EntityManager for this unit of work, the authenticated
 * viewer (null for anonymous doors such as webhooks), and the process-wide dependencies.
 */
export interface Scope {
  em: EntityManager;
  viewer: User | null;
  deps: Deps;
  /** The request (or job run) this unit of work serves: its log lines and deliveries carry it. */
  requestId: string;
  /** The access token the viewer authenticated with (null without a viewer): what it opens ends when it is revoked or expires. */
  credential?: Credential | null;
}

/** An access token as a scope holds it: which one, until when, and when this scope checked it (ms since the epoch). */
export interface Credential {
  tokenId: string;
  expiresAt: Date | null;
  checkedAt: number;
}

/**
 * A Scope without a viewer or a request: what background work (jobs, domain-event hooks, delivery
 * answers) and capability doors hand a service that needs no caller. The one other service shape.
 */
export type WorkScope = Pick<Scope, 'em' | 'deps'>;

const ROOT = Symbol('root');
const FORKED = Symbol('forked');
/**
 * The one getter of every lazy scope: a getter made for each scope was a new accessor each time, which gave each
 * scope a shape of its own (three times slower to make, and slower to read from). An own, enumerable property, so a
 * copy of the scope (GraphQL's context is one) takes the EntityManager with it.
 */
const LAZY_EM: PropertyDescriptor = {
  get(this: { [ROOT]: { em: EntityManager }; [FORKED]?: EntityManager }) {
    return (this[FORKED] ??= this[ROOT].em.fork());
  },
  enumerable: true,
};

/**
 * A WorkScope whose EntityManager is forked from `root` the first time it is used. A fork costs more than
 * most of what a message hook or a capability door does when its caches answer (each message runs
 * several hooks, and ingest opened a fork per request and per hook), so scopes that may never read
 * the database take one only when they do.
 */
export function forkOnUse<T extends object>(root: { em: EntityManager }, rest: T): T & { readonly em: EntityManager } {
  return Object.defineProperty({ [ROOT]: root, [FORKED]: undefined, ...rest }, 'em', LAZY_EM) as unknown as T & { readonly em: EntityManager };
}

/**
 * Forks EntityManagers for work done later within a scope's life (a subscription's reads), from the root the
 * scope forks from: it neither makes nor keeps the scope's own, which a long-lived scope lets go of (see
 * releaseUnitOfWork), and it holds the root, not the scope.
 */
export function laterForks(scope: WorkScope): () => EntityManager {
  const root = (scope as { [ROOT]?: { em: EntityManager } })[ROOT] ?? { em: scope.em };
  return () => root.em.fork();
}

/**
 * What a released scope answers for `em`: any use is a mistake (the work it was made for is done), said plainly
 * rather than forking behind the caller's back. One object for all: writing it keeps the scope's shape, where
 * giving each copy its own getter back would turn it into a dictionary (850 bytes each, measured).
 */
const RELEASED_EM = new Proxy({} as EntityManager, {
  get(_target, property) {
    // Symbols and `then` are asked by inspection and `await`, not by work on the database.
    if (typeof property === 'symbol' || property === 'then') return undefined;
    throw new Error(`EntityManager.${property} used on a released scope: fork one for later work (laterForks)`);
  },
});

/**
 * Lets go of what a scope's unit of work loaded, for a scope kept after its work is done (a subscription's
 * context lives as long as the subscription, and its events are resolved from the event alone): its
 * EntityManager and every entity it loaded (the token, the channel, memberships ...) are dropped, and the
 * viewer becomes a plain record of the same values, so the scope still says who it serves. Work done later
 * forks its own EntityManager (laterForks).
 */
export function releaseUnitOfWork(scope: Scope) {
  const lazy = scope as Scope & { [ROOT]?: { em: EntityManager }; [FORKED]?: EntityManager };
  if (!lazy[ROOT]) return;
  const own = Object.getOwnPropertyDescriptor(lazy, 'em');
  // A copy of the scope (GraphQL's context is one) holds the EntityManager as a plain value.
  if (own && 'value' in own) (lazy as { em: EntityManager }).em = RELEASED_EM;
  lazy[FORKED] = RELEASED_EM;
  if (scope.viewer) {
    const { id, name, email, isAdmin, createdAt } = scope.viewer;
    scope.viewer = { id, name, email, isAdmin, createdAt };
  }
}
