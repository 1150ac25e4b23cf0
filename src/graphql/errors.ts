import { GraphQLError } from 'graphql';
import { ConflictError, DomainError, ForbiddenError, NotFoundError, UnauthenticatedError, UpstreamError, ValidationError } from '../errors.js';
import { builder, UnauthenticatedGraphQLError } from './builder.js';

/** Expected failures as typed results: every mutation's result union includes these. */
export const ErrorInterface = builder.interfaceRef<DomainError>('Error').implement({
  description: 'An expected failure: the operation was refused and nothing changed.',
  fields: (t) => ({ message: t.exposeString('message', { description: 'What was wrong, in words meant for a person (it names the offending input where there is one).' }) }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'An input was not acceptable; `field` names it (a dot path into the input).',
  interfaces: [ErrorInterface],
  fields: (t) => ({ field: t.exposeString('field', { description: 'The offending input as a dot path from the input object, e.g. `jsonUrl` or `value`.' }) }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'No such object, or it belongs to an organisation you are not a member of.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ resource: t.exposeString('resource', { description: 'What kind of object was not found: organisation, channel, integration, setting, member, access token ...' }) }),
});

builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  description: 'Your role in the organisation does not allow this.',
  interfaces: [ErrorInterface],
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The change collides with existing state: a user name already taken, the last owner leaving, an integration not enabled for the channel, a second Slack installation.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ field: t.exposeString('field', { nullable: true, description: 'The input that collides (e.g. `name` of a user that exists), when one does.' }) }),
});

builder.objectType(UpstreamError, {
  name: 'UpstreamError',
  description: 'A remote service the operation depends on failed.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ field: t.exposeString('field', { description: 'The input the remote call was made for (e.g. `oauthCode` when Slack refuses a code exchange).' }) }),
});

/** Pass as `errors: mutationErrors` on every mutation field (or `mutationResult(...)`, which also describes `data`). */
export const mutationErrors = { types: [ValidationError, NotFoundError, ForbiddenError, ConflictError, UpstreamError] };

/** The typed errors of a mutation, with the description of its success type's `data` field (what a success carries). */
export function mutationResult(data: string) {
  return { ...mutationErrors, dataField: { description: data } };
}

const codes: [new (...args: never[]) => DomainError, string][] = [
  [ValidationError, 'BAD_USER_INPUT'],
  [NotFoundError, 'NOT_FOUND'],
  [ForbiddenError, 'FORBIDDEN'],
  [ConflictError, 'CONFLICT'],
  [UpstreamError, 'UPSTREAM_ERROR'],
];

/**
 * Yoga's error masking: expected failures raised outside typed mutation results (a bad cursor on a
 * query, say) keep their message and get a code; everything unexpected is masked.
 */
export function maskError(error: unknown, message: string): Error {
  // A GraphQL error all the way down (a refused document, UNAUTHENTICATED from the auth plugin) is
  // already what the caller should read: answered as it is, where it happened.
  if (isOriginalGraphQLError(error)) return error;
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (original instanceof UnauthenticatedError) return new UnauthenticatedGraphQLError();
  if (original instanceof DomainError) {
    const code = codes.find(([type]) => original instanceof type)?.[1] ?? 'BAD_REQUEST';
    const field = (original as { field?: string }).field;
    // Where it happened: the field's nodes (graphql-js), or the document and offsets (compiled execution).
    const at = error instanceof GraphQLError ? { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path } : {};
    return new GraphQLError(original.message, {
      ...at,
      extensions: { code, ...(field ? { field } : {}) },
    });
  }
  return new GraphQLError(message, {
    path: error instanceof GraphQLError ? error.path : undefined,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}

function isOriginalGraphQLError(error: unknown): error is GraphQLError {
  if (!(error instanceof GraphQLError)) return false;
  return error.originalError == null || isOriginalGraphQLError(error.originalError);
}

/** An expected failure: a domain error, or a GraphQL error all the way down (bad document, limits, UNAUTHENTICATED). */
export function isExpectedFailure(error: unknown): boolean {
  if (error instanceof DomainError) return true;
  if (!(error instanceof GraphQLError)) return false;
  return error.originalError == null || isExpectedFailure(error.originalError);
}

type LogFn = (obj: object, msg?: string) => void;

/**
 * Yoga's logger over pino. Yoga logs at error level, stack and all, every error it masks, once per
 * error: one anonymous request with 1,000 aliased fields wrote 1,000 such lines. Expected failures
 * (validation, not found, unauthenticated, refused by a limit) go to debug as one short line without a
 * stack; only unexpected errors stay at error level (through the logger's serializers, which strip SQL).
 */
export function yogaLogger(log: { debug: LogFn; info: LogFn; warn: LogFn; error: LogFn; isLevelEnabled(level: string): boolean }) {
  const line = (level: 'debug' | 'info' | 'warn') => (...args: unknown[]) => {
    if (!log.isLevelEnabled(level)) return;
    const [first, ...rest] = args;
    if (first instanceof Error) log[level]({ err: first }, rest.map(String).join(' ') || first.name);
    else log[level]({}, [first, ...rest].map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  };
  return {
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error(...args: unknown[]) {
      const error = args.find((a) => a instanceof Error);
      if (error && isExpectedFailure(error)) {
        if (!log.isLevelEnabled('debug')) return;
        const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
        const code = original instanceof GraphQLError ? original.extensions?.code : original.name;
        log.debug({ code, path: error instanceof GraphQLError ? error.path?.join('.') : undefined }, `expected failure: ${original.message}`);
        return;
      }
      // The message is the serialized error's (the serializer strips SQL from it), not repeated here.
      if (error) log.error({ err: error }, 'unexpected GraphQL error');
      else log.error({}, args.map(String).join(' '));
    },
  };
}
