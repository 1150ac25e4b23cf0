import type { Cursor } from '@mikro-orm/core';
import { builder } from './builder.js';

/**
 * A MikroORM cursor page as a Relay connection object (with totalCount when it was counted). `nodes`, when given, are
 * what the edges show in place of the page's entities (the same order: what a service made of each).
 */
export function toConnection<T extends object, N = T>(page: Cursor<T, never, '*', never, boolean>, nodes: N[] = page.items as unknown as N[]) {
  return {
    totalCount: page.totalCount,
    edges: page.items.map((item, i) => ({ node: nodes[i], cursor: page.from(item) })),
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPrevPage,
      startCursor: page.startCursor,
      endCursor: page.endCursor,
    },
  };
}

/**
 * Relay's PageInfo, for connections built by hand (messages, deliveries: their cursors are the ids of
 * their nodes) as for those the relay plugin builds.
 */
export const PageInfo = builder.pageInfoRef();
