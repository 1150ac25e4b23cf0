/**
 * The GraphQL read baseline: graphql-js `parse`, `validate` and `execute` on a bare node:http server, with
 * the gateway's own schema (so the same resolvers and DataLoaders) and the same request scope (`openScope`:
 * the bearer token looked up, a forked EntityManager), on the database the gateway uses. No Fastify, no
 * Yoga, no envelop plugins. Prints `{"url": ...}` once listening.
 *
 * POST /graphql answers `{query, variables, operationName}`; GET /statements answers how many SQL
 * statements this process has sent so far (the bench reads it around one request).
 */
import { execute, parse, validate, type DocumentNode } from 'graphql';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { schema } from '../src/schema.js';
import { bearerToken, openScope } from '../src/modules/auth/auth.service.js';

// Built, not started: no listener, scheduler or delivery worker; only the ORM and deps the resolvers use.
const app = await buildApp(loadConfig());
let statements = 0;
const knex = (app.orm.em.getConnection() as unknown as { getKnex(): { on(e: string, f: () => void): void } }).getKnex();
knex.on('query', () => void statements++);

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/statements') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ statements }));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void (async () => {
      const { query, variables, operationName } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query: string; variables?: Record<string, unknown>; operationName?: string };
      let document: DocumentNode;
      try {
        document = parse(query);
      } catch (error) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: (error as Error).message }] }));
        return;
      }
      const errors = validate(schema, document);
      if (errors.length) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ errors }));
        return;
      }
      const contextValue = await openScope(app.orm, app.deps, { token: bearerToken(req.headers.authorization), requestId: randomUUID() });
      const result = await execute({ schema, document, variableValues: variables, operationName, contextValue });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    })().catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: String(error) }] }));
    });
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${address.port}` })}\n`);
});
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeAllConnections();
  void app.stop().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
