import type { EntityManager } from '@mikro-orm/core';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { HttpClient } from './infra/http.js';
import type { Hooks } from './infra/hooks.js';
import type { User } from './modules/auth/user.entity.js';

/** Process-wide collaborators, built once by buildApp. */
export interface Deps {
  config: Config;
  http: HttpClient;
  hooks: Hooks;
  logger: Logger;
}

/**
 * What every service call receives: a forked EntityManager for this unit of work, the authenticated
 * viewer (null for anonymous doors such as webhooks), and the process-wide dependencies.
 */
export interface Scope {
  em: EntityManager;
  viewer: User | null;
  deps: Deps;
}
