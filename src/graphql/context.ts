import type { Scope } from '../context.js';

/** GraphQL context: the service Scope of the operation (opened by openScope, as on every door). */
export type GraphQLContext = Scope;
