import { GraphQLError, visit, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { characterLimitPlugin } from '@escape.tech/graphql-armor-character-limit';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { GraphQLLimits } from '../config.js';

/**
 * A document refused by a limit: a GraphQL error with its own code, answered with HTTP 400 (Yoga reads
 * `extensions.http` and leaves it out of the body) before the document is executed.
 */
export class LimitError extends GraphQLError {
  constructor(code: string, message: string) {
    // Yoga marks parse errors `spec: true` (`spec ||= true`), which answers 200 to clients accepting
    // application/json; a refused document answers 400 to every client, so `spec` stays false.
    const http = Object.defineProperty({ status: 400 }, 'spec', { get: () => false, set: () => undefined, enumerable: false });
    super(message, { extensions: { code, http } });
  }
}

/**
 * GraphQL Armor's envelop plugins with Switchboard's limits (src/config.ts, README "Security"). The
 * character and token limits run while parsing (a huge document is refused before it is even parsed
 * whole), the others as validation rules; each throws a LimitError at the first limit crossed. Envelop
 * plugins: they hold on HTTP, SSE and graphql-ws alike (graphql-ws operations run through
 * `yoga.getEnveloped`).
 */
export function limitPlugins(limits: GraphQLLimits): Plugin[] {
  const refuse = (code: string, message: string) => [
    () => {
      throw new LimitError(code, message);
    },
  ];
  const common = { propagateOnRejection: false, exposeLimits: true };
  // The token limit replaces the parse function and the character limit wraps it: tokens first, so a
  // document too long is refused before its first token is read.
  return [
    maxTokensPlugin({
      ...common,
      n: limits.maxTokens,
      onReject: refuse('TOKEN_LIMIT_EXCEEDED', `The document has more than ${limits.maxTokens} tokens (GRAPHQL_MAX_TOKENS).`),
    }),
    characterLimitPlugin({
      ...common,
      maxLength: limits.maxChars,
      onReject: refuse('CHARACTER_LIMIT_EXCEEDED', `The document is longer than ${limits.maxChars} characters (GRAPHQL_MAX_CHARS).`),
    }),
    maxDepthPlugin({
      ...common,
      n: limits.maxDepth,
      onReject: refuse('DEPTH_LIMIT_EXCEEDED', `The operation nests fields deeper than ${limits.maxDepth} levels (GRAPHQL_MAX_DEPTH).`),
    }),
    maxAliasesPlugin({
      ...common,
      n: limits.maxAliases,
      onReject: refuse('ALIAS_LIMIT_EXCEEDED', `The operation has more than ${limits.maxAliases} aliases (GRAPHQL_MAX_ALIASES).`),
    }),
    maxDirectivesPlugin({
      ...common,
      n: limits.maxDirectives,
      onReject: refuse('DIRECTIVE_LIMIT_EXCEEDED', `The operation has more than ${limits.maxDirectives} directives (GRAPHQL_MAX_DIRECTIVES).`),
    }),
    costLimitPlugin({
      ...common,
      maxCost: limits.maxCost,
      onReject: refuse('COST_LIMIT_EXCEEDED', `The operation's estimated cost is over ${limits.maxCost} (GRAPHQL_MAX_COST; a list field costs its \`first\`/\`last\` times its selection).`),
    }),
  ] as Plugin[];
}

/** Whether the caller of this operation is authenticated, set on the initial context before validation. */
export const AUTHENTICATED = Symbol('authenticated');
export type AuthenticatedMark = { [AUTHENTICATED]?: boolean };

const SUGGESTION = /\s*Did you mean .+\?/g;

/** The errors with "Did you mean ...?" taken out (new error objects: validation results are cached and shared). */
export function withoutSuggestions<E extends GraphQLError>(errors: readonly E[]): GraphQLError[] {
  return errors.map((error) =>
    error.message.includes('Did you mean')
      ? new GraphQLError(error.message.replace(SUGGESTION, ''), { nodes: error.nodes, path: error.path, extensions: error.extensions })
      : error,
  );
}

function usesIntrospection(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') {
        found = true;
        return false;
      }
      return undefined;
    },
  });
  return found;
}

/**
 * Production only (NODE_ENV=production): the schema is not shown to anonymous callers. Introspection
 * (`__schema`, `__type`; `__typename` stays) answers UNAUTHENTICATED, and validation errors lose their
 * "Did you mean ...?" field suggestions. The door marks the initial context with AUTHENTICATED before
 * validation (see app.ts). Suggestions are taken out of the result, not out of validation: validation
 * results are cached per document and shared by every caller.
 */
export function anonymousSchemaPrivacy(): Plugin {
  return {
    onExecutionResult({ result, setResult, context }) {
      if ((context as AuthenticatedMark)[AUTHENTICATED] || !result || !('errors' in result) || !result.errors) return;
      setResult({ ...result, errors: withoutSuggestions(result.errors) });
    },
    onExecute({ args, setResultAndStopExecution }) {
      const viewer = (args.contextValue as { viewer?: unknown }).viewer;
      if (!viewer && usesIntrospection(args.document)) {
        setResultAndStopExecution({
          errors: [new GraphQLError('Introspection requires authentication: send Authorization: Bearer <token>', { extensions: { code: 'UNAUTHENTICATED' } })],
        });
      }
    },
  } as Plugin;
}
