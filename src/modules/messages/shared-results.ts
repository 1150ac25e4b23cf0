/**
 * Fan-out without re-executing the same operation once per subscriber.
 *
 * Every subscriber of a channel receives the same event object; graphql's per-event step would execute
 * the subscription's selection once for each of them (1,000 subscribers: 1,000 identical executions per
 * message). This Yoga/envelop plugin runs the source stream as usual (the field's `subscribe` resolver,
 * so authorisation stays per subscriber) and memoises the per-event execution by (event, document,
 * operation name, variables): identical subscriptions share one result object, which graphql-ws or SSE
 * then serialises for each socket. It applies only to root fields whose selected data does not depend
 * on the viewer (the `Message` type's fields read only the message), listed in `fields`.
 */
import { createSourceEventStream, execute, getOperationAST, Kind, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const documentIds = new WeakMap<DocumentNode, number>();
let nextDocumentId = 1;
const documentId = (d: DocumentNode) => {
  let id = documentIds.get(d);
  if (!id) documentIds.set(d, (id = nextDocumentId++));
  return id;
};

const isAsyncIterable = (v: unknown): v is AsyncIterable<unknown> => typeof v === 'object' && v !== null && Symbol.asyncIterator in v;

function mapIterator<T, R>(source: AsyncIterable<T>, fn: (value: T) => R): AsyncIterableIterator<R> {
  const it = source[Symbol.asyncIterator]();
  const mapped: AsyncIterableIterator<R> = {
    [Symbol.asyncIterator]: () => mapped,
    async next() {
      const r = await it.next();
      return r.done ? { value: undefined, done: true } : { value: fn(r.value), done: false };
    },
    async return() {
      await it.return?.();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      if (it.throw) await it.throw(error);
      throw error;
    },
  };
  return mapped;
}

export function useSharedSubscriptionResults(fields: string[]): Plugin {
  const shared = new Set(fields);
  const results = new WeakMap<object, Map<string, ExecutionResult | Promise<ExecutionResult>>>();
  return {
    onSubscribe({ args, setSubscribeFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      const selections = operation?.selectionSet.selections ?? [];
      if (operation?.operation !== 'subscription' || selections.length !== 1) return;
      const [field] = selections;
      if (field.kind !== Kind.FIELD || !shared.has(field.name.value)) return;
      setSubscribeFn(async (a: ExecutionArgs) => {
        const source = await createSourceEventStream(a);
        if (!isAsyncIterable(source)) return source;
        const key = `${documentId(a.document)}:${a.operationName ?? ''}:${JSON.stringify(a.variableValues ?? {})}`;
        return mapIterator(source, (event) => {
          if (typeof event !== 'object' || event === null) return execute({ ...a, rootValue: event });
          let perEvent = results.get(event);
          if (!perEvent) results.set(event, (perEvent = new Map()));
          let result = perEvent.get(key);
          if (!result) perEvent.set(key, (result = execute({ ...a, rootValue: event })));
          return result;
        });
      });
    },
  };
}
