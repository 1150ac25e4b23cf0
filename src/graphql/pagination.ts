import type { Cursor } from '@mikro-orm/core';

/** A MikroORM cursor page as a Relay connection object (with totalCount when it was counted). */
export function toConnection<T extends object>(page: Cursor<T, never, '*', never, boolean>) {
  return {
    totalCount: page.totalCount,
    edges: page.items.map((node) => ({ node, cursor: page.from(node) })),
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPrevPage,
      startCursor: page.startCursor,
      endCursor: page.endCursor,
    },
  };
}
