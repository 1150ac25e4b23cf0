import type { Scope } from '../context.js';

/** GraphQL context: a service Scope (a forked EntityManager per operation) plus request metadata. */
export interface GraphQLContext extends Scope {
  requestId: string;
}
