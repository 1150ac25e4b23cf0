import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createYoga, isAsyncIterable } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import type { Deps, Scope } from './context.js';
import { databaseCheck, initOrm, type Orm } from './db/orm.js';
import { useReleasedSubscriptionScope, type GraphQLContext } from './graphql/context.js';
import { schema } from './schema.js';
import { maskError, yogaLogger } from './graphql/errors.js';
import { useInputGuard } from './graphql/input-guard.js';
import { compiledExecute, useCompiledExecute } from './graphql/executor.js';
import { refuseBadInput } from './rest/input-guard.js';
import { anonymousSchemaPrivacy, AUTHENTICATED, limitPlugins, withoutSuggestions, type AuthenticatedMark } from './graphql/limits.js';
import { GraphQLError, type DocumentNode } from 'graphql';
import { createHttpClient } from './infra/http.js';
import { Hooks } from './infra/hooks.js';
import { createAppPubSub } from './infra/pubsub.js';
import { createScheduler, schedulerOptions } from './infra/scheduler.js';
import { defineTickJobs } from './modules/ticks/ticks.jobs.js';
import { reconcileTicks, registerTickHooks } from './modules/ticks/ticks.service.js';
import { registerIntegrationHooks } from './modules/integrations/integrations.service.js';
import { hostname } from 'node:os';
import { Deliveries, type DeliveryWorker } from './modules/deliveries/deliveries.service.js';
import { MessagePipeline } from './modules/messages/messages.service.js';
import { TickBatches } from './modules/ticks/ticks.service.js';
import { CustomChannelSender } from './modules/custom-channels/custom-channels.service.js';
import { RocketChatRuntime } from './modules/rocketchat/runtime.js';
import { startRocketChatTriggers } from './modules/rocketchat/outgoing.service.js';
import { startMemberRemovalHandling } from './modules/rocketchat/management.service.js';
import { LiveAccess } from './modules/auth/live-access.js';
import { authenticateSocket, connectionToken, useLiveAccess } from './modules/auth/live-access.graphql.js';
import { NextFrameWriter, useSharedSubscriptionResults } from './modules/messages/shared-results.js';
import { acceptableRequestId, childLoggerOnFirstLine, createLogger, withRequestId } from './infra/logger.js';
import { createMetrics, instrumentHttp, type Metrics } from './infra/metrics.js';
import { waitForDependency } from './infra/startup.js';
import { Readiness, redisCheck } from './infra/readiness.js';
import { healthRoutes } from './modules/health/health.rest.js';
import type { Plugin as EnvelopPlugin } from 'graphql-yoga';
import type { DestinationStream, Logger } from 'pino';
import { bearerToken, bootstrapAdmin, openScope } from './modules/auth/auth.service.js';
import { errorBody } from './rest/envelope.js';
import { restScope, type RestOptions } from './rest/scope.js';
import { restModules } from './routes.js';
import { GRAPHIQL_DEFAULT_QUERY } from './modules/console/graphiql.js';
import { serializersOnFirstUse } from './rest/serializers.js';
import { registerOpenApi } from './rest/openapi.js';
import { clientAddressReader, createRateLimits } from './infra/rate-limit.js';
import { countHttpTimeouts, httpTimeoutOptions } from './infra/backpressure.js';
import { limitHttp } from './rest/rate-limit.js';
import { limitSocketConnections, withSocketLimits } from './graphql/socket-limits.js';

export interface App {
  server: FastifyInstance;
  orm: Orm;
  deps: Deps;
  /** The one-time admin token created on first start (null when users already existed). */
  bootstrapToken: string | null;
  start(): Promise<string>;
  stop(): Promise<void>;
}

export interface BuildOptions {
  /** Where log lines go (default stdout). */
  logDestination?: DestinationStream;
  /** How long to keep retrying the database (and Redis) at start before giving up, ms. */
  startupTimeoutMs?: number;
  /** How long WebSocket subscribers get to acknowledge the 1001 close frame before being cut, ms. */
  websocketCloseTimeoutMs?: number;
  /** How long in-flight HTTP requests (and SSE streams) get to finish on shutdown before their connections are cut, ms. */
  drainTimeoutMs?: number;
  /** The whole shutdown budget (SHUTDOWN_TIMEOUT_MS), ms: delivery calls still in flight are handed back in time to fit it. */
  shutdownTimeoutMs?: number;
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<App> {
  const logger = createLogger({ level: config.logLevel, pretty: config.prettyLogs, destination: options.logDestination });
  const startupTimeoutMs = options.startupTimeoutMs ?? 60_000;
  const metrics = createMetrics();
  const readiness = new Readiness();
  const orm = await waitForDependency('database', () => initOrm(config.database), logger, { timeoutMs: startupTimeoutMs });
  readiness.register('database', databaseCheck(orm));
  if (config.redisUrl) {
    const redisUp = redisCheck(config.redisUrl);
    await waitForDependency('redis', redisUp, logger, { timeoutMs: startupTimeoutMs });
    readiness.register('redis', redisUp);
  }
  const pubsub = await createAppPubSub(config.redisUrl);
  // Request rates and connection caps of every door (README "Security"): on Redis with REDIS_URL, shared by the replicas.
  const rateLimits = await createRateLimits(config.rateLimits, config.redisUrl, metrics, logger.child({ component: 'rate-limit' }));
  const clientAddressOf = clientAddressReader(config.trustProxy);
  const scheduler = await createScheduler(schedulerOptions(config, { name: `${hostname()}:${process.pid}` }), orm, logger.child({ component: 'scheduler' }));
  readiness.register('job store', async () => {
    await scheduler.agenda.queryJobs({ name: 'readiness-probe', limit: 1 });
    return `${scheduler.backendName} reachable`;
  });
  scheduler.agenda.on('error', () => metrics.jobStoreErrors.inc({ operation: 'process' }));
  // Every stateful part of the app, built here in this order and reached through deps (no module keeps
  // state of its own): the deliveries table and its worker, the message path (route cache, group
  // committer), the tick batches, the custom-channel sender, Rocket.Chat's runtime.
  const base = { config, logger, http: createHttpClient(config.outbound), hooks: new Hooks(logger), pubsub, metrics, readiness, scheduler };
  const deliveries = new Deliveries(base);
  const deps: Deps = {
    ...base,
    deliveries,
    messages: new MessagePipeline(orm.em, { ...base, deliveries }),
    ticks: new TickBatches(deliveries),
    customChannels: new CustomChannelSender(deliveries),
    rocketchat: new RocketChatRuntime(),
    liveAccess: new LiveAccess(base),
    rateLimits,
  };
  // Background work wired to the app's domain events (each returns its unsubscribe, called on stop).
  defineTickJobs(scheduler, orm, deps);
  registerTickHooks(deps, () => orm.em.fork());
  // A channel created later gets the integrations switched on for all channels.
  registerIntegrationHooks(deps, () => orm.em.fork());
  const unwire = [deps.customChannels.start(orm, deps), startRocketChatTriggers(orm, deps), startMemberRemovalHandling(orm, deps)];
  // Revocations from every replica end this replica's sockets and subscriptions.
  await deps.liveAccess.start();

  const issued = await bootstrapAdmin(orm.em.fork(), config.adminToken);

  // The caller of a GraphQL operation, as each transport carries it: over HTTP (and SSE) the Authorization
  // header; over WebSocket, which has no request header, the socket's connectionParams (checked at
  // connection_init: see authenticateSocket).
  type GraphQLServerContext = { connectionParams?: Record<string, unknown>; reqId?: string; address?: string; request?: Request; params?: { extensions?: Record<string, unknown> | null } };
  const graphqlScope = ({ request, connectionParams, reqId, address }: GraphQLServerContext) => {
    const token = request ? bearerToken(request.headers.get('authorization')) : connectionToken(connectionParams);
    return openScope(orm, deps, { token, requestId: reqId ?? randomUUID(), address });
  };
  // Opened before validation when validation depends on the caller (production: no field suggestions
  // for anonymous callers), and then reused as the operation's context.
  const earlyScope = new WeakMap<object, Scope>();

  const execute = compiledExecute();
  const yoga = createYoga<GraphQLServerContext, GraphQLContext>({
    schema,
    plugins: [
      ...limitPlugins(config.graphqlLimits),
      ...(config.production ? [openScopeBeforeValidation(graphqlScope, earlyScope), anonymousSchemaPrivacy()] : []),
      useInputGuard(),
      countSubscriptions(metrics),
      useSharedSubscriptionResults(['channelMessages'], execute),
      useCompiledExecute(execute),
      // Subscriptions end when their token is revoked or expires, or their member leaves the organisation.
      useLiveAccess(),
      useReleasedSubscriptionScope(),
    ],
    // Documents that failed to parse are not kept (the default keeps up to 1,024 of them, each keyed by
    // its whole text: up to 1 GB of refused 1 MB documents).
    parserAndValidationCache: { errorCache: { get: () => undefined, set: () => undefined } },
    graphqlEndpoint: '/graphql',
    logging: yogaLogger(logger.child({ component: 'graphql' })),
    maskedErrors: { maskError },
    landingPage: false,
    // GraphiQL subscribes over SSE: its Headers tab's Authorization goes with every request, subscriptions
    // included (a graphql-ws socket needs the token in connection_init, which GraphiQL cannot send).
    graphiql: { title: 'Switchboard', subscriptionsProtocol: 'SSE', defaultQuery: GRAPHIQL_DEFAULT_QUERY },
    // GraphiQL bundled in the page: the playground works without reaching a CDN. Its 9 MB module is
    // imported when the page is first asked for, not on every start.
    renderGraphiQL: (options) => import('@graphql-yoga/render-graphiql').then(({ renderGraphiQL }) => renderGraphiQL(options)),
    // Taken out of the map as it is used: the context is the initial object, and a subscription's lives as long as
    // the subscription, which would keep the scope's EntityManager and entities with it (see useReleasedSubscriptionScope).
    context: async (initial) => {
      const early = earlyScope.get(initial);
      earlyScope.delete(initial);
      return early ?? graphqlScope(initial);
    },
  });

  const server = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.webhookMaxBytes,
    schemaController: { compilersFactory: { buildSerializer: serializersOnFirstUse() } },
    // The client address behind the balancer (TRUST_PROXY), and the time a client gets to send its request.
    trustProxy: config.trustProxy,
    ...httpTimeoutOptions(config.backpressure),
    // A caller's x-request-id is honoured (and echoed) so one id follows a message across services.
    genReqId: (req) => (acceptableRequestId(req.headers['x-request-id']) ? req.headers['x-request-id'] : randomUUID()),
    childLoggerFactory: (parent, bindings, options) => childLoggerOnFirstLine(parent as Logger, bindings, options) as FastifyBaseLogger,
  });
  // Every log line written while serving a request (in services too) carries its id: set on request,
  // and again after body parsing, which loses the async context.
  server.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    withRequestId(request.id, done);
  });
  server.addHook('preHandler', (request, _reply, done) => withRequestId(request.id, done));
  // NUL bytes, lone surrogates and over-deep JSON in any input: a 400 naming the field, before anything reads it.
  server.addHook('preValidation', refuseBadInput);
  instrumentHttp(server, metrics);
  limitHttp(server, rateLimits, config.backpressure, metrics, logger);
  countHttpTimeouts(server.server, metrics, logger);

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
      const response = await yoga.handleNodeRequestAndResponse(req, reply, { reqId: req.id, address: req.ip });
      response.headers.forEach((value, key) => void reply.header(key, value));
      reply.status(response.status);
      reply.send(response.body);
      return reply;
    },
  });

  // The OpenAPI document collects REST routes as they are added: register it before them.
  await registerOpenApi(server);
  const restOptions: RestOptions = { deps, scope: restScope(orm, deps) };
  await server.register(healthRoutes, restOptions);
  for (const plugin of restModules) await server.register(plugin, restOptions);

  // graphql-ws on the same port and path, through Yoga's envelope so HTTP and WebSocket share one context.
  const wss = new WebSocketServer({ server: server.server, path: yoga.graphqlEndpoint });
  const frames = new NextFrameWriter();
  const wsServer = useServer(
    withSocketLimits({
      execute: (args) => (args.rootValue as { execute: typeof import('graphql').execute }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: typeof import('graphql').subscribe }).subscribe(args),
      // No token in force in connection_init: closed with 4403. Accepted sockets close with 4403 when it is revoked or expires.
      onConnect: (ctx) =>
        authenticateSocket(ctx, (token) => openScope(orm, deps, { token, requestId: randomUUID(), address: clientAddressOf(ctx.extra.request) })),
      onClose: () => void metrics.websocketConnections.dec(),
      onSubscribe: async (ctx, id, params) => {
        const initial = {
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          // Shared subscription results are serialised once and written straight to the socket.
          sendNextFrame: frames.forSubscription(ctx.extra.socket, id, config.backpressure.subscriberMaxBufferedBytes),
          params,
          address: clientAddressOf(ctx.extra.request),
          reqId: acceptableRequestId(ctx.extra.request.headers['x-request-id']) ? ctx.extra.request.headers['x-request-id'] : randomUUID(),
        };
        const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped(initial);
        if (config.production) {
          const scope = await graphqlScope(initial);
          earlyScope.set(initial, scope);
          (initial as AuthenticatedMark)[AUTHENTICATED] = !!scope.viewer;
        }
        // A document refused by a limit (while parsing or validating) is answered as an error of this
        // operation, as over HTTP; the socket stays open.
        let document: DocumentNode;
        try {
          document = parse(params.query);
          const errors = validate(s, document);
          if (errors.length) return wsErrors(errors, initial);
        } catch (error) {
          if (error instanceof GraphQLError) return wsErrors([error], initial);
          throw error;
        }
        return {
          schema: s,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
    }, rateLimits, clientAddressOf),
    wss,
  );
  limitSocketConnections(wss, rateLimits, clientAddressOf, config.backpressure, metrics, logger);
  // Counted down in graphql-ws's onClose, which it calls for every socket it opened, rather than by one more
  // `close` listener on each socket (0.35 MB per 1,000 sockets).
  wss.on('connection', () => metrics.websocketConnections.inc());
  const websocketCloseTimeoutMs = options.websocketCloseTimeoutMs ?? 3_000;
  const drainTimeoutMs = options.drainTimeoutMs ?? websocketCloseTimeoutMs + 5_000;
  // Before the listener closes (open WebSockets would hold it open): every subscriber gets close code 1001
  // "Going away" so it reconnects to another replica and resumes with `after`; those that do not answer
  // the close frame in time are cut.
  server.addHook('preClose', async () => {
    const open = wss.clients.size;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.resolve(wsServer.dispose()).catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, websocketCloseTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    for (const client of wss.clients) client.terminate();
    if (open) logger.info({ websockets: open }, 'closed WebSocket subscribers (1001 going away)');
  });

  let worker: DeliveryWorker | undefined;

  let stopping: Promise<void> | null = null;
  return {
    server,
    orm,
    deps,
    bootstrapToken: issued?.token ?? null,
    async start() {
      deps.deliveries.startThreads();
      await server.listen({ port: config.port, host: config.host });
      // Pending output deliveries and retries (durable in the database) resume here.
      worker ??= deps.deliveries.startWorker(orm, deps);
      // Interval integrations: the job store is brought in line with the database, then ticks run.
      await reconcileTicks({ em: orm.em.fork(), deps }).catch((error) => logger.error({ err: error }, 'could not reconcile tick jobs'));
      await scheduler.start();
      const address = server.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      return `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
    },
    /**
     * Graceful shutdown, in order: /readyz answers 503 at once (the balancer stops sending), WebSocket
     * subscribers are closed with 1001, the listener stops accepting and in-flight requests are answered
     * (long-lived ones such as SSE streams are cut after the grace period), then background work stops and
     * the database closes last. Calling it again returns the same promise.
     */
    stop() {
      stopping ??= (async () => {
        const began = Date.now();
        const phase = (msg: string) => logger.info({ elapsedMs: Date.now() - began }, msg);
        readiness.drain();
        logger.info('shutting down: draining requests');
        const grace = setTimeout(() => {
          logger.warn({ drainTimeoutMs }, 'requests still in flight after the drain period: closing their connections');
          server.server.closeAllConnections();
        }, drainTimeoutMs);
        // Keep-alive connections whose request finishes during the drain turn idle afterwards and would hold
        // the listener open: close them as they go idle.
        const reap = setInterval(() => server.server.closeIdleConnections(), 50);
        try {
          await server.close();
        } finally {
          clearTimeout(grace);
          clearInterval(reap);
        }
        phase('stopped accepting; in-flight requests answered');
        // Background workers (scheduler, delivery retries) stop here, before the database closes.
        await scheduler.stop();
        // Ticks in flight finish; the pairs still to retry are handed to another replica.
        await deps.ticks.stop();
        phase('scheduler stopped');
        // Delivery calls in flight get what is left of the budget, less a tenth for closing connections.
        const budget = options.shutdownTimeoutMs;
        await worker?.stop(budget ? { deadline: began + budget - Math.max(250, budget / 10) } : undefined);
        phase('delivery worker stopped');
        await deps.deliveries.close();
        for (const off of unwire) off();
        deps.messages.feeds.close();
        deps.liveAccess.stop();
        await deps.pubsub.close();
        await rateLimits.close();
        deps.http.close();
        await orm.close(true);
        phase('shutdown complete');
      })();
      return stopping;
    },
  };
}

/** Errors of a refused graphql-ws operation: without Yoga's HTTP status, and in production without field suggestions for anonymous callers. */
function wsErrors(errors: readonly GraphQLError[], context: object): GraphQLError[] {
  const shown = (context as AuthenticatedMark)[AUTHENTICATED] === false ? withoutSuggestions(errors) : errors;
  return shown.map((error) => {
    if (!error.extensions?.http) return error;
    const { http: _http, ...extensions } = error.extensions;
    return new GraphQLError(error.message, { nodes: error.nodes, path: error.path, extensions });
  });
}

/** Opens the operation's scope before validation and marks the context with whether its caller is authenticated. */
function openScopeBeforeValidation<C extends object>(open: (context: C) => Promise<Scope>, opened: WeakMap<object, Scope>): EnvelopPlugin {
  return {
    async onParams({ context, request, params }: { context: object; request: Request; params: unknown }) {
      const scope = await open({ ...context, request, params } as C);
      opened.set(context, scope);
      (context as AuthenticatedMark)[AUTHENTICATED] = !!scope.viewer;
    },
  } as unknown as EnvelopPlugin;
}

/** Count running GraphQL subscriptions by transport (graphql-ws or SSE), ended however they end. */
function countSubscriptions(metrics: Metrics): EnvelopPlugin {
  return {
    onSubscribe({ args }) {
      const transport = 'socket' in (args.contextValue as object) ? 'websocket' : 'sse';
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) return;
          metrics.activeSubscriptions.inc({ transport });
          return { onEnd: () => metrics.activeSubscriptions.dec({ transport }) };
        },
      };
    },
  };
}
