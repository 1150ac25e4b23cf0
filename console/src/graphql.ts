/**
 * `graphql()` for the console's operations. The codegen client preset (codegen.ts, `npm run codegen`) reads
 * every `graphql(...)` text in console/src against schema.graphql and types it; at run time this keeps the text
 * as written and nothing else, so the bundle needs no generated code (the generated folder is imported for types
 * only, and `npm start` builds without it).
 *
 * A selection used by several operations is written once as a fragment (`graphql(`fragment Name on Type ...`)`)
 * and spread by name: an operation is sent followed by the fragments it spreads, and theirs. They are looked up
 * when the operation is first sent, so a fragment may be defined in any module of the bundle.
 */
import type { graphql as typed } from './gql/gql';

const fragments = new Map<string, string>();

/** `source` followed by every fragment it spreads, directly or through another fragment. */
function withFragments(source: string): string {
  const spread = new Set<string>();
  const visit = (text: string) => {
    for (const [, name] of text.matchAll(/\.\.\.\s*([A-Za-z_]\w*)/g)) {
      // `... on Type` is an inline fragment, not a spread.
      if (name === 'on' || spread.has(name)) continue;
      const fragment = fragments.get(name);
      if (!fragment) throw new Error(`The console's operation spreads ${name}, a fragment it does not define.`);
      spread.add(name);
      visit(fragment);
    }
  };
  visit(source);
  return [source, ...[...spread].map((name) => fragments.get(name)!)].join('\n');
}

export const graphql = ((source: string) => {
  const fragment = /^\s*fragment\s+([A-Za-z_]\w*)/.exec(source);
  if (fragment) {
    fragments.set(fragment[1], source);
    return source;
  }
  let text: string | undefined;
  return { toString: () => (text ??= withFragments(source)) };
}) as unknown as typeof typed;
