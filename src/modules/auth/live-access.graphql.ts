/**
 * The GraphQL side of live access (live-access.ts holds the registry):
 *
 * - `authenticateSocket`: graphql-ws's `onConnect`. A socket must name a token in force in `connection_init`
 *   (`{"authorization": "Bearer …"}`): a missing, unknown, revoked or expired one closes the socket with 4403
 *   Forbidden. An accepted socket is held under its token: revoking it, or its expiry, closes the socket with 4403.
 * - `useLiveAccess`: every subscription (graphql-ws or SSE) is held under the credential and the organisations
 *   that authorised it. When access is taken away the stream answers one last result, an error with
 *   `extensions.code: "ACCESS_REVOKED"` and `reason` (`token_revoked`, `token_expired`, `membership_removed`),
 *   then completes; the source stream is stopped at once.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Context } from 'graphql-ws';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Credential, Scope } from '../../context.js';
import { bearerToken } from './auth.service.js';
import type { EndReason } from './live-access.js';

/** The close code of a socket without (or no longer with) a valid credential: graphql-ws's Forbidden. */
export const FORBIDDEN_CLOSE_CODE = 4403;

type Extra = { socket: WebSocket; request: IncomingMessage };

/** The bearer token a graphql-ws client sent in `connection_init` (`authorization`, any letter case of its first letter). */
export function connectionToken(params: Record<string, unknown> | undefined): string | null {
  const header = params?.authorization ?? params?.Authorization;
  return typeof header === 'string' ? bearerToken(header) : null;
}

/**
 * graphql-ws's `onConnect`: false (the socket closes with 4403) without a token in force; otherwise the socket
 * is held under its token until it closes.
 */
export async function authenticateSocket(ctx: Context<Record<string, unknown> | undefined, Extra>, open: (token: string | null) => Promise<Scope>): Promise<boolean> {
  const scope = await open(connectionToken(ctx.connectionParams));
  const { viewer, credential } = scope;
  if (!viewer || !credential) return false;
  const { socket } = ctx.extra;
  const release = scope.deps.liveAccess.track({
    kind: 'socket',
    userId: viewer.id,
    tokenId: credential.tokenId,
    expiresAt: credential.expiresAt,
    checkedAt: credential.checkedAt,
    organisations: new Set(),
    end: (reason) => {
      if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(FORBIDDEN_CLOSE_CODE, `Forbidden: ${reason.replace('_', ' ')}`);
    },
  });
  socket.once('close', release);
  return true;
}

const MESSAGES: Record<EndReason, string> = {
  token_revoked: 'Access revoked: the access token of this subscription was revoked',
  token_expired: 'Access revoked: the access token of this subscription expired',
  membership_removed: 'Access revoked: you are no longer a member of the organisation this subscription reads',
};

export function accessRevokedError(reason: EndReason, organisationId?: string) {
  return new GraphQLError(MESSAGES[reason], {
    extensions: { code: 'ACCESS_REVOKED', reason, ...(organisationId && reason === 'membership_removed' ? { organisationId } : {}) },
  });
}

/** Hold every subscription under its credential and organisations, and end it with an error when access goes. */
export function useLiveAccess(): Plugin {
  return {
    onSubscribe({ args }) {
      return {
        onSubscribeResult({ result, setResult }) {
          const scope = args.contextValue as unknown as Scope;
          if (!isAsyncIterable<ExecutionResult>(result) || !scope.viewer || !scope.credential) return;
          setResult(endable(result, holding(scope, scope.viewer.id, scope.credential)));
        },
      };
    },
  };
}

/**
 * How a subscription of `scope` is held: by plain values read now, so that its holder, kept as long as the
 * subscription, keeps nothing of the scope (which lets go of its entities once the stream runs).
 */
function holding(scope: Scope, userId: string, { tokenId, expiresAt, checkedAt }: Credential) {
  const { liveAccess } = scope.deps;
  const organisations = liveAccess.tiesOf(scope);
  return (end: (error: GraphQLError) => void) =>
    liveAccess.track({
      kind: 'subscription',
      userId,
      tokenId,
      expiresAt,
      checkedAt,
      organisations,
      end: (reason, organisationId) => end(accessRevokedError(reason, organisationId)),
    });
}

/**
 * `source` with a way to end it from outside: `register` receives the ending function and returns the release
 * function. Ending answers a pending (or the next) `next()` with `{errors: [error]}`, stops the source at once,
 * and every later `next()` is done.
 */
function endable(source: AsyncIterable<ExecutionResult>, register: (end: (error: GraphQLError) => void) => () => void): AsyncIterableIterator<ExecutionResult> {
  const it = source[Symbol.asyncIterator]();
  let ending: GraphQLError | null = null;
  let told = false;
  let finished = false;
  /** The caller's pending next(), while the source has not answered it. */
  let pending: { resolve(result: IteratorResult<ExecutionResult>): void } | null = null;
  const finish = () => {
    if (finished) return;
    finished = true;
    release();
  };
  const release = register((error) => {
    if (finished || ending) return;
    ending = error;
    // The source stops now (its listeners go); its pending next() settles as done and is ignored.
    void Promise.resolve(it.return?.()).catch(() => undefined);
    const waiter = pending;
    pending = null;
    if (waiter) {
      told = true;
      waiter.resolve({ value: { errors: [error] }, done: false });
    }
  });
  const done = (): IteratorResult<ExecutionResult> => ({ value: undefined, done: true });
  const stream: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => stream,
    next() {
      if (ending && !told && !finished) {
        told = true;
        return Promise.resolve({ value: { errors: [ending] }, done: false });
      }
      if (ending || finished) {
        finish();
        return Promise.resolve(done());
      }
      return new Promise<IteratorResult<ExecutionResult>>((resolve, reject) => {
        const waiter = { resolve };
        pending = waiter;
        it.next().then(
          (result) => {
            if (pending !== waiter) return;
            pending = null;
            if (result.done) finish();
            resolve(result);
          },
          (error: unknown) => {
            if (pending !== waiter) return;
            pending = null;
            finish();
            reject(error);
          },
        );
      });
    },
    async return() {
      finish();
      const waiter = pending;
      pending = null;
      waiter?.resolve(done());
      await it.return?.();
      return done();
    },
    async throw(error?: unknown) {
      finish();
      if (it.throw) await it.throw(error);
      throw error;
    },
  };
  return stream;
}
