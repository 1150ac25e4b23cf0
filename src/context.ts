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
