import type { Plugin } from 'graphql-yoga';
import { releaseUnitOfWork, type Scope } from '../context.js';

/** GraphQL context: the service Scope of the operation (opened by openScope, as on every door). */
export type GraphQLContext = Scope;

const isAsyncIterable = (v: unknown) => typeof v === 'object' && v !== null && Symbol.asyncIterator in v;

/**
 * A subscription's context lives as long as its stream, and its events are resolved from the event alone: once
 * the stream runs, the context lets go of the entities its subscribe loaded (the viewer's token, the channel and
 * its membership ...) and of its EntityManager (see releaseUnitOfWork). Streams fork their own for their reads.
 * Listed after every plugin that reads the scope when the stream starts (useLiveAccess).
 */
export function useReleasedSubscriptionScope(): Plugin {
  return {
    onSubscribe({ args }) {
      return {
        onSubscribeResult({ result }) {
          if (isAsyncIterable(result)) releaseUnitOfWork(args.contextValue as unknown as Scope);
        },
      };
    },
  };
}
