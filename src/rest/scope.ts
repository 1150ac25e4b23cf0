// MikroORM's own type, not db/orm.ts: that file registers every module's entities, and the door kit
// importing it would tie every module that uses the kit to every other (cycles, in npm run lint:deps).
import type { MikroORM } from '@mikro-orm/core';
import type { FastifyRequest } from 'fastify';
import type { Deps, Scope } from '../context.js';
import { bearerToken, openScope, type Caller } from '../modules/auth/auth.service.js';

/**
 * A service Scope for a REST request (through openScope, as every door): by default the caller is the
 * bearer token's user; doors with their own credentials pass them (Rocket.Chat's X-Auth-Token and
 * X-User-Id), and capability URLs (webhooks, return URLs, incoming hooks) pass none.
 */
export function restScope(orm: Pick<MikroORM, 'em'>, deps: Deps) {
  return (request: FastifyRequest, caller: Omit<Caller, 'requestId'> = { token: bearerToken(request.headers.authorization) }): Promise<Scope> =>
    openScope(orm, deps, { ...caller, requestId: request.id, address: request.ip });
}

/** What each REST module's plugin receives: the app's deps, and the one way to open a unit of work. */
export interface RestOptions {
  deps: Deps;
  /** The one way a REST door opens a unit of work: see restScope. */
  scope(request: FastifyRequest, caller?: Omit<Caller, 'requestId'>): Promise<Scope>;
}
