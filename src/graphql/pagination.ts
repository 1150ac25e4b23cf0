import type { Cursor } from '@mikro-orm/core';
import { builder } from './builder.js';

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

/**
 * Relay's PageInfo, for connections built by hand (messages, deliveries: their cursors are the ids of
 * their nodes) as for those the relay plugin builds.
 */
export const PageInfo = builder.pageInfoRef();
