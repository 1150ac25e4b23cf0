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

/** What IdPageInfo exposes. */
export interface PageInfoShape {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export const IdPageInfo = builder.objectRef<PageInfoShape>('IdPageInfo').implement({
  description: 'Page information for connections whose cursors are the ids of their nodes.',
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage', { description: 'Whether more items follow this page (ask with `after: endCursor`).' }),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage', { description: 'Whether items precede this page.' }),
    startCursor: t.exposeString('startCursor', { nullable: true, description: 'The id of the first item of the page; null when the page is empty.' }),
    endCursor: t.exposeString('endCursor', { nullable: true, description: 'The id of the last item of the page; null when the page is empty.' }),
  }),
});
