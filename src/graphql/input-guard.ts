import { GraphQLError, Kind, visit, type ASTNode, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { badText, findBadInput } from '../validation.js';

const refusal = (field: string, message: string) =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', field, http: { status: 400 } } });

/** A string literal of the document no store can keep (NUL: graphql-js refuses lone surrogates itself), by argument path. */
function badLiteral(document: DocumentNode): GraphQLError | null {
  let found: GraphQLError | null = null;
  visit(document, {
    StringValue(node, _key, parent, _path, ancestors) {
      const problem = badText(node.value);
      if (!problem || found) return;
      const names = ([...ancestors, parent] as readonly (ASTNode | readonly ASTNode[] | undefined)[])
        .filter((a) => a !== undefined)
        .filter((a): a is ASTNode => !Array.isArray(a) && (((a as ASTNode).kind === Kind.ARGUMENT) || (a as ASTNode).kind === Kind.OBJECT_FIELD))
        .map((a) => (a as { name: { value: string } }).name.value);
      const field = names.join('.') || 'query';
      found = refusal(field, `${field} ${problem}`);
    },
  });
  return found;
}

function refuse(document: DocumentNode, variables: Record<string, unknown> | null | undefined): GraphQLError | null {
  const bad = findBadInput(variables ?? {}, []);
  if (bad) return refusal(bad.field, `variable $${bad.message}`);
  return badLiteral(document);
}

/** graphql-js names a variable's bad value in words only (`Variable "$input" got invalid value … at "input.position"`): name it in extensions.field too. */
function withVariableField(result: ExecutionResult): ExecutionResult | null {
  if (!result.errors?.length || result.data) return null;
  let changed = false;
  const errors = result.errors.map((error) => {
    const m = /^Variable "\$([^"]+)" (?:got invalid value .*? at "([^"]+)";|got invalid value|of required type|of non-null type)/s.exec(error.message);
    if (!m || error.extensions?.field) return error;
    changed = true;
    return new GraphQLError(error.message, {
      nodes: error.nodes,
      extensions: { ...error.extensions, code: 'BAD_USER_INPUT', field: m[2] ?? m[1], http: { status: 400 } },
    });
  });
  return changed ? { ...result, errors } : null;
}

/**
 * The GraphQL side of "every bad byte gets a 4xx": before an operation executes (HTTP or WebSocket), a NUL or a
 * lone surrogate anywhere in its variables (or a NUL in a string literal), or variables nested deeper than
 * MAX_INPUT_DEPTH, refuse it with BAD_USER_INPUT and `extensions.field` (the variable or argument path), HTTP 400;
 * and variable type errors carry the path they name.
 */
export function useInputGuard(): Plugin {
  // The same two steps for queries and mutations (onExecute) as for subscriptions (onSubscribe).
  const stopOnBadInput = ({ args, setResultAndStopExecution }: { args: { document: DocumentNode; variableValues?: unknown }; setResultAndStopExecution(result: ExecutionResult): void }) => {
    const error = refuse(args.document, args.variableValues as Record<string, unknown> | undefined);
    if (error) setResultAndStopExecution({ errors: [error] });
    return error !== null;
  };
  const nameVariableErrors = ({ result, setResult }: { result: ExecutionResult | AsyncIterable<unknown>; setResult(result: ExecutionResult): void }) => {
    if (Symbol.asyncIterator in result) return;
    const named = withVariableField(result);
    if (named) setResult(named);
  };
  return {
    onExecute(payload) {
      if (stopOnBadInput(payload)) return;
      return { onExecuteDone: nameVariableErrors };
    },
    onSubscribe(payload) {
      if (stopOnBadInput(payload)) return;
      return { onSubscribeResult: nameVariableErrors };
    },
  };
}
