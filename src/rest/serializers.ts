/**
 * Response serialisers compiled when a route first answers with a status, instead of all at start.
 *
 * Fastify compiles a fast-json-stringify function for every response schema of every route when it
 * becomes ready: with each REST operation documenting its 4xx answers that is a few hundred generated
 * functions, the largest single cost of starting the gateway, spent mostly on answers that a given run
 * never sends. The serialiser is Fastify's own (same schemas, same output); only when it is compiled
 * changes, and each is compiled once.
 */
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

type SerializerFactory = ReturnType<typeof SerializerSelector>;

/** A `schemaController.compilersFactory.buildSerializer` for Fastify's options. */
export function serializersOnFirstUse(): SerializerFactory {
  const eager = SerializerSelector();
  return (externalSchemas, options) => {
    const compile = eager(externalSchemas, options);
    return (route) => {
      let serialize: ((doc: unknown) => string) | undefined;
      return (doc) => (serialize ??= compile(route))(doc);
    };
  };
}
