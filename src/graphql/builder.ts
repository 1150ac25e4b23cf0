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
  relay: { clientMutationId: 'omit', cursorType: 'String', nodeQueryOptions: false, nodesQueryOptions: false },
  errors: { defaultTypes: [] },
});

import { GraphQLError } from 'graphql';
export class UnauthenticatedGraphQLError extends GraphQLError {
  constructor() {
    super('Authentication required: send Authorization: Bearer <token>', { extensions: { code: 'UNAUTHENTICATED' } });
  }
}

builder.queryType({ authScopes: { authenticated: true } });
builder.mutationType({ authScopes: { authenticated: true } });
