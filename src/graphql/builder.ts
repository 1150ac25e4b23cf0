import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import type { GraphQLContext } from './context.js';

/** The schema builder: plugins and scalar typings only. Types live beside their domain in modules/. */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  AuthScopes: { authenticated: boolean; admin: boolean };
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  plugins: [ScopeAuthPlugin, ErrorsPlugin, RelayPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({ authenticated: !!ctx.viewer, admin: !!ctx.viewer?.isAdmin }),
    unauthorizedError: () => new UnauthenticatedGraphQLError(),
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    pageInfoTypeOptions: { description: 'Where a page of a cursor connection sits in the whole list, and the cursors to page on from it.' },
    hasNextPageFieldOptions: { description: 'Whether more items follow this page (page on with `after: endCursor`).' },
    hasPreviousPageFieldOptions: { description: 'Whether items precede this page (where the field takes `last` and `before`, page back with `before: startCursor`).' },
    startCursorFieldOptions: { description: 'The cursor of the first item of the page; null when the page is empty.' },
    endCursorFieldOptions: { description: 'The cursor of the last item of the page; null when the page is empty.' },
    defaultConnectionTypeOptions: { description: 'A page of a list (Relay cursor connection): the items as `edges`, in list order, and `pageInfo`.' },
    defaultEdgeTypeOptions: { description: 'One item of a page with its cursor.' },
    edgesFieldOptions: { description: 'The items of this page, in list order.' },
    pageInfoFieldOptions: { description: 'Whether more items come before or after this page, and the cursors to ask for them.' },
    cursorFieldOptions: { description: 'Opaque position of this item: pass it as `after` or `before` to page from here.' },
    nodeFieldOptions: { description: 'The item.' },
    firstArgOptions: { description: 'Page forwards: at most this many items (0 to 100) after `after`. Without `first` and `last`, a page holds up to 100.' },
    afterArgOptions: { description: 'A cursor (`endCursor` or an edge cursor) of this connection: start after that item.' },
    lastArgOptions: { description: 'Page backwards: at most this many items (0 to 100) just before `before`.' },
    beforeArgOptions: { description: 'A cursor (`startCursor` or an edge cursor) of this connection: end before that item.' },
  },
  errors: {
    defaultTypes: [],
    defaultUnionOptions: {
      description:
        'What a mutation answers: its success type (named after the mutation, the object in `data`), or an expected failure implementing `Error` (then nothing changed).',
    },
    defaultResultOptions: { description: 'The mutation succeeded: `data` holds the object it created, changed or removed.' },
  },
});

import { GraphQLError } from 'graphql';
export class UnauthenticatedGraphQLError extends GraphQLError {
  constructor() {
    super('Authentication required: send Authorization: Bearer <token>', { extensions: { code: 'UNAUTHENTICATED' } });
  }
}

builder.queryType({
  description:
    'Reads. Every field needs a bearer token. Objects of organisations you are not a member of read as null, or as a NOT_FOUND error where the field cannot be null (`messages`).',
  authScopes: { authenticated: true },
});
builder.mutationType({
  description: 'Changes. Every field needs a bearer token and answers a union of its success type and the expected failures (see `Error`).',
  authScopes: { authenticated: true },
});
