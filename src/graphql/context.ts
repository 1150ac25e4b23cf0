import { RequestCache } from '@pothos/plugin-scope-auth';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { releaseUnitOfWork, type Scope } from '../context.js';

/** GraphQL context: the service Scope of the operation (opened by openScope, as on every door). */
export type GraphQLContext = Scope;

/**
 * A subscription's context lives as long as its stream, and its events are resolved from the event alone: once
 * the stream runs, the context lets go of the entities its subscribe loaded (the viewer's token, the channel and
 * its membership ...) and of its EntityManager (see releaseUnitOfWork). Streams fork their own for their reads.
 * Pothos's cache of the context's auth scopes (several maps) goes too: subscribe checked them, and a later check
 * reads them again from the viewer, which the context keeps.
 * Listed after every plugin that reads the scope when the stream starts (useLiveAccess).
 */
export function useReleasedSubscriptionScope(): Plugin {
  return {
    onSubscribe({ args }) {
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) return;
          releaseUnitOfWork(args.contextValue as unknown as Scope);
          RequestCache.clearForContext(args.contextValue);
        },
      };
    },
  };
}
