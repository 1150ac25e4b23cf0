/**
 * Queries and mutations run on graphql-js's own `execute`.
 *
 * Yoga's default executor (@graphql-tools/executor's normalizedExecutor) exists for incremental delivery
 * (@defer/@stream), which this schema does not enable; on a read of a few thousand fields it costs more
 * per field than graphql-js's executor, whose results are the same for everything else. Subscriptions
 * keep Yoga's (the source streams, and src/modules/messages/shared-results.ts, are built on it).
 */
import { execute } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export function useGraphQLJsExecute(): Plugin {
  return {
    onExecute({ setExecuteFn }) {
      setExecuteFn(execute);
    },
  };
}
