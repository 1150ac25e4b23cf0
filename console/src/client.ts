/**
 * The console's only way to the gateway: the public GraphQL API at /graphql, over fetch for queries and
 * mutations and over graphql-ws for subscriptions, with the access token as a bearer token. The token lives
 * in sessionStorage (gone when the tab closes), never in a URL.
 */
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
import { createClient, type Client } from 'graphql-ws/client';
import { graphql } from './graphql';

const TOKEN_KEY = 'switchboard.token';

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => {
    sessionStorage.removeItem(TOKEN_KEY);
    socket?.dispose();
    socket = null;
  },
};

/** A GraphQL error the gateway answered (not an expected failure: those are typed results, see `ok`). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** An expected failure a mutation answered (ValidationError, ForbiddenError ...); `field` names the input. */
export class Refused extends Error {
  constructor(
    message: string,
    readonly kind: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const listeners = new Set<() => void>();
/** Called when the gateway says the token is not (or no longer) valid. */
export function onSignedOut(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export async function request<R, V>(document: DocumentTypeDecoration<R, V>, variables?: V, bearer = token.get()): Promise<R> {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify({ query: String(document), variables }),
  });
  let body: { data?: R; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The gateway answered HTTP ${response.status}`);
  }
  const error = body.errors?.[0];
  if (error) {
    if (error.extensions?.code === 'UNAUTHENTICATED') for (const listener of listeners) listener();
    throw new ApiError(error.message, error.extensions?.code);
  }
  return body.data as R;
}

// What every mutation asks of an expected failure (spread as `...ConsoleFailure`): its kind, its message, and
// the input a refusal names.
graphql(`
  fragment ConsoleFailure on Error {
    __typename
    message
    ... on ValidationError {
      field
    }
    ... on InvalidScriptError {
      field
    }
  }
`);

type Result = { __typename?: string; data?: unknown };
/** The `data` of a mutation's success, or a thrown `Refused` carrying the failure's message and field. */
export function ok<R extends Result>(result: R): Extract<R, { data: unknown }>['data'] {
  if ('data' in result) return (result as { data: Extract<R, { data: unknown }>['data'] }).data;
  const failure = result as { __typename?: string; message?: string; field?: string };
  throw new Refused(failure.message ?? 'The gateway refused the change.', failure.__typename ?? 'Error', failure.field);
}

/**
 * Run a mutation (one root field, answering a success or an expected failure) and return its success's `data`;
 * a failure is thrown as `Refused`, with the input it names.
 */
export async function mutate<R extends Record<string, Result>, V>(document: DocumentTypeDecoration<R, V>, variables: V): Promise<Extract<R[keyof R], { data: unknown }>['data']> {
  const result = await request(document, variables);
  return ok(Object.values(result)[0] as R[keyof R]);
}

let socket: Client | null = null;
let socketOpen = false;
const socketStates = new Set<(state: 'connected' | 'closed') => void>();

/** One graphql-ws connection for the page. It does not retry by itself: each subscriber resumes with its own cursor. */
function connection(): Client {
  socket ??= createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: () => ({ authorization: `Bearer ${token.get() ?? ''}` }),
    retryAttempts: 0,
    keepAlive: 10_000,
    on: {
      connected: () => {
        socketOpen = true;
        socketStates.forEach((f) => f('connected'));
      },
      closed: (event) => {
        socketOpen = false;
        socketStates.forEach((f) => f('closed'));
        // 4403: the gateway refused the token (revoked, expired, unknown): sign in again rather than retry.
        if ((event as { code?: number } | undefined)?.code === 4403) for (const listener of listeners) listener();
      },
    },
  });
  return socket;
}

export interface Live {
  stop(): void;
}

/**
 * A subscription that survives a lost connection: after an error or a close it subscribes again, after a
 * growing pause (1 s up to 10 s), with the variables `resume()` gives then (e.g. the last message id seen as
 * `after`, so the gateway replays what was missed). `state` reports `live`, `connecting` or `reconnecting`.
 */
export function subscribe<R, V>(
  document: DocumentTypeDecoration<R, V>,
  resume: () => V,
  handlers: { next(data: R): void; state(state: 'live' | 'connecting' | 'reconnecting', detail?: string): void },
): Live {
  let stopped = false;
  let pause = 1_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let unsubscribe: (() => void) | undefined;
  const onSocket = (state: 'connected' | 'closed') => {
    if (stopped) return;
    if (state === 'connected') {
      pause = 1_000;
      handlers.state('live');
    }
  };
  socketStates.add(onSocket);
  const again = (detail?: string) => {
    if (stopped) return;
    handlers.state('reconnecting', detail);
    timer = setTimeout(start, pause);
    pause = Math.min(pause * 2, 10_000);
  };
  const start = () => {
    if (stopped) return;
    handlers.state(socketOpen ? 'live' : 'connecting');
    unsubscribe = connection().subscribe<R>(
      { query: String(document), variables: resume() as Record<string, unknown> },
      {
        next: (result) => {
          if (result.errors?.length) return again(result.errors[0].message);
          if (result.data) handlers.next(result.data as R);
        },
        error: (error) => again(error instanceof Error ? error.message : 'connection lost'),
        complete: () => again('the gateway ended the subscription'),
      },
    );
  };
  start();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      socketStates.delete(onSocket);
      unsubscribe?.();
    },
  };
}
