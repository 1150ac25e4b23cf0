import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createYoga } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import type { Deps } from './context.js';
import { initOrm, type Orm } from './db/orm.js';
import type { GraphQLContext } from './graphql/context.js';
import { schema } from './graphql/schema.js';
import { maskError } from './graphql/errors.js';
import { createHttpClient } from './infra/http.js';
import { Hooks } from './infra/hooks.js';
import { createLogger } from './infra/logger.js';
import { authenticate, bearerToken, bootstrapAdmin } from './modules/auth/auth.service.js';
import { errorBody } from './rest/envelope.js';
import { restScope, type RestOptions } from './rest/scope.js';
import { restModules } from './rest/modules.js';

export interface App {
  server: FastifyInstance;
  orm: Orm;
  deps: Deps;
  /** The one-time admin token created on first start (null when users already existed). */
  bootstrapToken: string | null;
  start(): Promise<string>;
  stop(): Promise<void>;
}

export async function buildApp(config: Config): Promise<App> {
  const logger = createLogger({ level: config.logLevel, pretty: config.prettyLogs });
  const orm = await initOrm(config.database);
  const deps: Deps = { config, logger, http: createHttpClient(config.outbound), hooks: new Hooks(logger) };

  const issued = await bootstrapAdmin(orm.em.fork(), config.adminToken);

  const yoga = createYoga<{ connectionParams?: Record<string, unknown> }, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    logging: logger.child({ component: 'graphql' }),
    maskedErrors: { maskError },
    landingPage: false,
    graphiql: { title: 'Switchboard', subscriptionsProtocol: 'WS' },
    context: async ({ request, connectionParams }) => {
      const em = orm.em.fork();
      const header = request?.headers.get('authorization') ?? (connectionParams?.authorization as string | undefined) ?? (connectionParams?.Authorization as string | undefined);
      const viewer = await authenticate(em, bearerToken(header));
      return { em, viewer, deps, requestId: request?.headers.get('x-request-id') ?? randomUUID() };
    },
  });

  const server = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.webhookMaxBytes,
    genReqId: (req) => (req.headers['x-request-id'] as string | undefined) ?? randomUUID(),
  });
  server.setErrorHandler((error, request, reply) => {
    const body = errorBody(error, request);
    void reply.code(body.status_code).send(body);
  });
  server.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ status: 'error', status_code: 404, message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  server.route({
    url: yoga.graphqlEndpoint,
    method: ['GET', 'POST', 'OPTIONS'],
    handler: async (req, reply) => {
      const response = await yoga.handleNodeRequestAndResponse(req, reply, {});
      response.headers.forEach((value, key) => void reply.header(key, value));
      reply.status(response.status);
      reply.send(response.body);
      return reply;
    },
  });

  const restOptions: RestOptions = { orm, deps, scope: (request) => restScope(orm, deps, request) };
  for (const plugin of restModules) await server.register(plugin, restOptions);

  // graphql-ws on the same port and path, through Yoga's envelope so HTTP and WebSocket share one context.
  const wss = new WebSocketServer({ server: server.server, path: yoga.graphqlEndpoint });
  const wsServer = useServer(
    {
      execute: (args) => (args.rootValue as { execute: typeof import('graphql').execute }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: typeof import('graphql').subscribe }).subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        });
        const document = parse(params.query);
        const errors = validate(s, document);
        if (errors.length) return errors;
        return {
          schema: s,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
    },
    wss,
  );

  let stopped = false;
  return {
    server,
    orm,
    deps,
    bootstrapToken: issued?.token ?? null,
    async start() {
      await server.listen({ port: config.port, host: config.host });
      const address = server.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      return `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await wsServer.dispose();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await server.close();
      deps.http.close();
      await orm.close(true);
    },
  };
}
