import type { MikroORM } from '@mikro-orm/core';
import type { FastifyRequest } from 'fastify';
import type { Deps, Scope } from '../context.js';
import { authenticate, bearerToken } from '../modules/auth/auth.service.js';

/** A service Scope for a REST request: a fresh EntityManager and the bearer token's user (or null). */
export async function restScope(orm: MikroORM, deps: Deps, request: FastifyRequest): Promise<Scope> {
  const em = orm.em.fork();
  const viewer = await authenticate(em, bearerToken(request.headers.authorization));
  return { em, viewer, deps };
}

/**
 * What each REST module's plugin receives. `orm` is typed by MikroORM itself, not by db/orm.ts: that file registers
 * every module's entities, and the door kit importing it would tie every module that uses the kit to every other
 * module (cycles between modules, in npm run lint:deps). Doors should not need the ORM at all, only `scope`.
 */
export interface RestOptions {
  orm: MikroORM;
  deps: Deps;
  scope(request: FastifyRequest): Promise<Scope>;
}
