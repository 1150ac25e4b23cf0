import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { ValidationError } from '../errors.js';
import { findBadInput } from '../validation.js';

/**
 * The one check of every REST and webhook input before validation or a handler sees it (a preValidation hook,
 * for every route): a NUL byte or a lone surrogate in any string of the path parameters, the query string or
 * the parsed body (JSON or form), or a body nested deeper than MAX_INPUT_DEPTH, is a ValidationError naming the
 * field. It goes to the route's error handler, so each door answers in its own envelope (Telex's, Rocket.Chat's)
 * and nothing is stored. GraphQL strings are checked by the GraphQL input guard (variables and literals, on every
 * transport); only the depth of its body is checked here, answered in GraphQL's shape.
 */
export function refuseBadInput(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
  // A callback, not a promise: the check never waits, and it runs on every request.
  if (request.routeOptions.url === '/graphql') {
    const deep = findBadInput(request.body, [], { text: false });
    if (deep) {
      void reply.code(400).send({ errors: [{ message: deep.message, extensions: { code: 'BAD_USER_INPUT', field: deep.field } }] });
      return;
    }
    return done();
  }
  const bad =
    findBadInput(request.params, []) ??
    findBadInput(request.query, []) ??
    findBadInput(request.body, []);
  done(bad ? new ValidationError(bad.field, bad.message) : undefined);
}
