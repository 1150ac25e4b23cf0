/**
 * `graphql()` for the console's operations. The codegen client preset (codegen.ts, `npm run codegen`) reads
 * every `graphql(...)` text in console/src against schema.graphql and types it; this identity function keeps
 * those types and nothing else, so the bundle sends each operation exactly as written and needs no generated
 * code at run time (the generated folder is imported for types only, and `npm start` builds without it).
 */
import type { graphql as typed } from './gql/gql';

export const graphql = ((source: string) => source) as unknown as typeof typed;
