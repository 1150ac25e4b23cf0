import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import { forkOnUse, type Deps, type Scope } from '../../context.js';
import { ForbiddenError, NotFoundError, UnauthenticatedError, ConflictError } from '../../errors.js';
import { generateToken, hashToken, safeEqual } from '../../infra/crypto.js';
import { parseInput } from '../../validation.js';
import { AccessToken } from './access-token.entity.js';
import { User } from './user.entity.js';

export function requireViewer(scope: Scope): User {
  if (!scope.viewer) throw new UnauthenticatedError();
  return scope.viewer;
}

export function requireAdmin(scope: Scope): User {
  const viewer = requireViewer(scope);
  if (!viewer.isAdmin) throw new ForbiddenError('Only an administrator can do this');
  return viewer;
}

/** Parse `Authorization: Bearer <token>` (also tolerates a bare token) into the token. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^\s*(?:bearer\s+)?(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}

/** The user a token belongs to, or null for an unknown, revoked or expired token. */
export async function authenticate(em: EntityManager, token: string | null): Promise<User | null> {
  return (await findAccessToken(em, token))?.user ?? null;
}

/** The record of a token in force (not revoked, not past its `expiresAt`), with its user; null otherwise. */
export async function findAccessToken(em: EntityManager, token: string | null): Promise<AccessToken | null> {
  if (!token) return null;
  return em.findOne(
    AccessToken,
    { tokenHash: hashToken(token), revokedAt: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }] },
    { populate: ['user'] },
  );
}

/** Who is calling, as a door read it: a token (and, for doors that send one, the user id it must belong to). */
export interface Caller {
  token?: string | null;
  userId?: string | null;
  requestId: string;
  /** The client's address: a credential that matches nothing counts against it (src/infra/rate-limit.ts). */
  address?: string;
}

/**
 * The one way every door (REST, Rocket.Chat, webhooks, GraphQL over HTTP and WebSocket, the jobs
 * dashboard) opens a unit of work for the services: a fresh EntityManager, the viewer (the user of the
 * token, when it is valid and `userId`, if given, is theirs; null otherwise), the app's deps and the
 * request id.
 */
export async function openScope(orm: { em: EntityManager }, deps: Deps, caller: Caller): Promise<Scope> {
  const checkedAt = Date.now();
  // Capability doors (webhooks, return URLs, incoming hooks) come without a token, and often answer from caches.
  const scope = forkOnUse(orm, { deps, requestId: caller.requestId });
  let record = caller.token ? await findAccessToken(scope.em, caller.token) : null;
  if (record && caller.userId != null && !safeEqual(record.user.id, caller.userId)) record = null;
  const viewer = record?.user ?? null;
  if (caller.token && !viewer) await deps.rateLimits?.authFailed(caller.address);
  const credential = record ? { tokenId: record.id, expiresAt: record.expiresAt ?? null, checkedAt } : null;
  return Object.assign(scope, { viewer, credential });
}

async function issueToken(em: EntityManager, user: User, name: string, token = generateToken('sb'), expiresAt: Date | null = null) {
  const record = em.create(AccessToken, { user, name, tokenHash: hashToken(token), hint: token.slice(-4), expiresAt });
  await em.flush();
  return { token, accessToken: record };
}

/**
 * On first start with an empty database: create the administrator and return its one-time token
 * (the configured one when given). Returns null when users already exist.
 */
export async function bootstrapAdmin(em: EntityManager, configuredToken?: string) {
  if ((await em.count(User, {})) > 0) return null;
  const user = em.create(User, { name: 'admin', isAdmin: true });
  return issueToken(em, user, 'bootstrap', configuredToken);
}

const CreateUserInput = z.object({
  name: z.string().trim().min(1, 'name is required').max(100),
  email: z.email().optional().nullable(),
  isAdmin: z.boolean().optional().nullable(),
});

/** Administrators create users; the new user's first token is returned once. */
export async function createUser(scope: Scope, input: z.input<typeof CreateUserInput>) {
  requireAdmin(scope);
  const data = parseInput(CreateUserInput, input);
  if (await scope.em.count(User, { name: data.name })) throw new ConflictError(`a user named "${data.name}" already exists`, 'name');
  const user = scope.em.create(User, { name: data.name, email: data.email ?? null, isAdmin: data.isAdmin ?? false });
  const issued = await issueToken(scope.em, user, 'initial');
  await scope.deps.hooks.emit('user.created', { userId: user.id });
  return { user, ...issued };
}

const CreateTokenInput = z.object({
  name: z.string().trim().min(1, 'name is required').max(100),
  expiresAt: z
    .date({ message: 'expiresAt must be a date and time' })
    .refine((d) => d.getTime() > Date.now(), 'expiresAt must be in the future')
    .optional()
    .nullable(),
});

/** Another token for the viewer; with `expiresAt` it is refused after that instant, and what it opened ends then. */
export async function createAccessToken(scope: Scope, input: z.input<typeof CreateTokenInput>) {
  const viewer = requireViewer(scope);
  const data = parseInput(CreateTokenInput, input);
  return issueToken(scope.em, viewer, data.name, undefined, data.expiresAt ?? null);
}

export async function listAccessTokens(scope: Scope) {
  const viewer = requireViewer(scope);
  return scope.em.find(
    AccessToken,
    { user: viewer, revokedAt: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }] },
    { orderBy: { createdAt: 'asc' } },
  );
}

export async function revokeAccessToken(scope: Scope, id: string) {
  const viewer = requireViewer(scope);
  const token = await scope.em.findOne(AccessToken, { id, user: viewer, revokedAt: null });
  if (!token) throw new NotFoundError('access token', id);
  token.revokedAt = new Date();
  await scope.em.flush();
  // Requests with it now fail; what it has open (sockets, subscriptions) ends on every replica.
  scope.deps.liveAccess.revoke({ tokenId: token.id });
  return token;
}

export async function findUser(em: EntityManager, idOrName: string) {
  return em.findOne(User, isUuid(idOrName) ? { id: idOrName } : { name: idOrName });
}

export function isUuid(value: string) {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
