/**
 * Queries and mutations run on graphql-jit once their document comes back: its second execution compiles
 * the operation to a function (kept beside Yoga's parsed document, so it lives as long as that document
 * stays in Yoga's parser cache), which then runs in place of graphql-js's `execute`. On a read of a few
 * thousand fields the compiled function costs a fraction of graphql-js's walk of the document.
 *
 * - A document is run once on graphql-js first: one-off documents (a playground's, a scanner's) cost no
 *   compilation.
 * - Variables that do not fit their types are answered by graphql-js, whose messages name the variable and
 *   the path inside it (`$input` at "input.name"); graphql-jit's name the inner field as if it were the
 *   variable. graphql-jit checks variables before any resolver runs, so nothing runs twice.
 * - graphql-jit writes literal arguments into the code it generates and turns a string that starts with
 *   one of its markers (`__MAGIC_DATE__…`, `__MAGIC_NAN__…`) into code: `"__MAGIC_DATE__<uuid>(anything)"`
 *   would run `anything` in this process. Documents with such a string literal are never compiled.
 * - Anything graphql-jit cannot compile runs on graphql-js.
 * - graphql-jit's errors carry `locations` but not the document positions Yoga rebuilds errors from (so they
 *   lost their locations on the way out): they are made graphql-js errors again, in graphql-js's result shape.
 *
 * Yoga's default executor (@graphql-tools/executor's normalizedExecutor) exists for incremental delivery
 * (@defer/@stream), which this schema does not enable. Subscriptions keep Yoga's (the source streams are built on
 * it); the shared subscriptions of src/modules/messages/shared-results.ts run each event through `compiledExecute`,
 * their operation compiled (`prepare`) when it is subscribed, so no event waits for graphql-jit.
 */
import { BREAK, execute, GraphQLError, Kind, visit, type DocumentNode, type ExecutionArgs, type ExecutionResult, type SourceLocation } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';

/** graphql-jit's markers for values it writes into generated code as code (see its execution.js). */
const JIT_MARKER = '__MAGIC_';

/** An operation of a document: whether it ran once, and its compiled form once it has one (null: graphql-js for good). */
interface Operation {
  ran: boolean;
  compiled?: CompiledQuery | null;
}

function hasMarkerLiteral(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    [Kind.STRING](node) {
      if (node.value.includes(JIT_MARKER)) {
        found = true;
        return BREAK;
      }
    },
  });
  return found;
}

/** The offset in `body` of a line and column (1-based), as graphql-js's `getLocation` counts them. */
function positionOf(body: string, { line, column }: SourceLocation): number {
  const lineBreak = /\r\n|[\n\r]/g;
  let start = 0;
  for (let l = 1; l < line; l++) {
    const found = lineBreak.exec(body);
    if (!found) break;
    start = found.index + found[0].length;
  }
  return start + column - 1;
}

/** A graphql-jit error as the graphql-js error it stands for: same message, path, extensions and cause, located in the document. */
function asGraphQLJsError(error: GraphQLError, document: DocumentNode): GraphQLError {
  const source = document.loc?.source;
  return new GraphQLError(error.message, {
    source,
    positions: source && error.locations?.map((l) => positionOf(source.body, l)),
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}

function compile(args: Pick<ExecutionArgs, 'schema' | 'document' | 'operationName'>): CompiledQuery | null {
  if (hasMarkerLiteral(args.document)) return null;
  const compiled = compileQuery(args.schema, args.document, args.operationName ?? undefined);
  return isCompiledQuery(compiled) ? compiled : null;
}

/** An `execute` as graphql-js's is called, answering a result or its promise. */
export type Execute = (args: ExecutionArgs) => ExecutionResult | Promise<ExecutionResult>;

/** An `Execute` that can also compile an operation ahead of its runs (a subscription's, before its first event). */
export interface CompiledExecute extends Execute {
  prepare(args: Pick<ExecutionArgs, 'schema' | 'document' | 'operationName'>): void;
}

/**
 * graphql-js's `execute` for a document's first run, its compiled function from the second on (see the file's
 * comment). One instance serves queries and mutations (useCompiledExecute) and each event of a shared
 * subscription (src/modules/messages/shared-results.ts), where a subscription document's compiled function
 * executes its selection on the event.
 */
export function compiledExecute(): CompiledExecute {
  const operations = new WeakMap<DocumentNode, Map<string, Operation>>();

  const operationOf = (args: Pick<ExecutionArgs, 'document' | 'operationName'>): Operation => {
    let byName = operations.get(args.document);
    if (!byName) operations.set(args.document, (byName = new Map()));
    const name = args.operationName ?? '';
    let operation = byName.get(name);
    if (!operation) byName.set(name, (operation = { ran: false }));
    return operation;
  };

  const run = (args: ExecutionArgs) => {
    const operation = operationOf(args);
    if (!operation.ran) {
      operation.ran = true;
      return execute(args);
    }
    if (operation.compiled === undefined) operation.compiled = compile(args);
    if (!operation.compiled) return execute(args);
    const result = operation.compiled.query(args.rootValue, args.contextValue, args.variableValues);
    const settle = (r: ExecutionResult) => {
      // No `data` at all: the variables were refused before anything ran.
      if (!('data' in r)) return execute(args);
      return r.errors?.length ? { errors: r.errors.map((e) => asGraphQLJsError(e, args.document)), data: r.data } : r;
    };
    return result instanceof Promise ? result.then(settle) : settle(result);
  };
  // A subscription's selection runs on every event: compiled when it is subscribed, its first events do not
  // wait for graphql-jit (the first compilation in a process took 12 ms, in front of 1,000 subscribers' frames).
  const prepare: CompiledExecute['prepare'] = (args) => {
    const operation = operationOf(args);
    operation.ran = true;
    if (operation.compiled === undefined) operation.compiled = compile(args);
  };
  return Object.assign(run, { prepare });
}

/** Queries and mutations run through `run` (the app's one `compiledExecute`). */
export function useCompiledExecute(run: Execute): Plugin {
  return {
    onExecute({ setExecuteFn }) {
      setExecuteFn(run as typeof execute);
    },
  };
}
