import type { FastifyRequest } from 'fastify';
import type { Orm } from '../db/orm.js';
import type { Deps, Scope } from '../context.js';
import { authenticate, bearerToken } from '../modules/auth/auth.service.js';

/** A service Scope for a REST request: a fresh EntityManager and the bearer token's user (or null). */
export async function restScope(orm: Orm, deps: Deps, request: FastifyRequest): Promise<Scope> {
  const em = orm.em.fork();
  const viewer = await authenticate(em, bearerToken(request.headers.authorization));
  return { em, viewer, deps };
}

/** What each REST module's plugin receives. */
export interface RestOptions {
  orm: Orm;
  deps: Deps;
  scope(request: FastifyRequest): Promise<Scope>;
}
