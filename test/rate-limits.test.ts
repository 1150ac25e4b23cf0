/**
 * Rate limits and connection caps (README "Security", src/infra/rate-limit.ts): per address and per token on
 * GraphQL and REST, failed authentications per address (refusing the guesser's address, never the token's
 * holder elsewhere), per channel on the inbound doors (posts and bytes, chunked bodies too), and on graphql-ws
 * and SSE connections per address and token and operations per socket. Each refusal answers 429 with
 * Retry-After in the door's envelope (graphql-ws: close 4429, or an error of the operation) and is counted in
 * /metrics. In memory on each database; then on Redis, shared by two gateway processes.
 *
 * Clients are told apart by X-Forwarded-For, believed from loopback (TRUST_PROXY=loopback).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { GatewayProcess } from '../bench/spawn.js';
import { GATEWAY_PAIR_CASES, startGatewayPair, type GatewayPair } from './support/gateway-pair.js';
import { ADMIN_TOKEN, remoteGateway, startTestApp, type TestApp } from './support/app.js';
import { scrape } from './support/ops.js';
import { addMember, createChannel, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';
import { until } from './support/wait.js';

const VIEWER = '{ viewer { id } }';
const SUBSCRIPTION = 'subscription($channelId: ID!) { channelMessages(channelId: $channelId) { id message } }';

interface Answer {
  status: number;
  retryAfter: string | null;
  body: any;
}

async function call(url: string, init: { method?: string; path: string; from?: string; token?: string | null; headers?: Record<string, string>; body?: unknown }): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.from) headers['x-forwarded-for'] = init.from;
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${init.path}`, { method: init.method ?? (init.body === undefined ? 'GET' : 'POST'), headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: text ? JSON.parse(text) : null };
}

const gql = (url: string, query: string, from: string, token: string | null = null) => call(url, { path: '/graphql', from, token, body: { query } });
const webhook = (url: string, channelId: string, from: string, message = 'hello') =>
  call(url, { path: `/v1/webhooks/${channelId}`, from, body: { event_name: 'e', message, status: 'success', username: 'u' } });

function expectTooMany(answer: Answer) {
  expect(answer.status).toBe(429);
  expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(answer.retryAfter)).toBeLessThanOrEqual(60);
}

/** A raw graphql-transport-ws connection: its messages, its acknowledgement and its close. */
function openSocket(url: string, options: { token?: string; from?: string } = {}) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { headers: options.from ? { 'x-forwarded-for': options.from } : {} });
  const messages: { id?: string; type: string; payload?: any }[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const acked = new Promise<boolean>((resolve) => {
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString());
      messages.push(message);
      if (message.type === 'connection_ack') resolve(true);
    });
    void closed.then(() => resolve(false));
  });
  ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: options.token ? { authorization: `Bearer ${options.token}` } : {} })));
  ws.on('error', () => undefined);
  return {
    ws,
    messages,
    acked,
    closed,
    subscribe(id: string, channelId: string) {
      ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query: SUBSCRIPTION, variables: { channelId } } }));
    },
    complete(id: string) {
      ws.send(JSON.stringify({ id, type: 'complete' }));
    },
  };
}

/** An SSE subscription request; resolves with its status once headers arrive (the stream stays open until aborted). */
async function openStream(url: string, channelId: string, token: string, from: string) {
  const controller = new AbortController();
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}`, 'x-forwarded-for': from },
    body: JSON.stringify({ query: SUBSCRIPTION, variables: { channelId } }),
    signal: controller.signal,
  });
  return { res, close: () => controller.abort() };
}

for (const db of databases) {
  describe(`rate limits in memory: ${db}`, () => {
    const apps: TestApp[] = [];
    afterAll(async () => {
      await Promise.all(apps.map((a) => a.close()));
    });
    const start = async (env: Record<string, string>) => {
      const t = await startTestApp(db, { TRUST_PROXY: 'loopback', ...env });
      apps.push(t);
      return t;
    };

    it('limits each token and each address on GraphQL and REST: 429 with Retry-After in each envelope, counted in /metrics', async () => {
      const t = await start({ RATE_LIMIT_ADDRESS: '30/1m', RATE_LIMIT_TOKEN: '10/1m' });
      const user = await createUser(t, 'busy');

      // Per token, whichever address it comes from.
      for (let i = 0; i < 10; i++) expect((await gql(t.url, VIEWER, `198.51.100.${i + 1}`, user.token)).status).toBe(200);
      const overToken = await gql(t.url, VIEWER, '198.51.100.50', user.token);
      expectTooMany(overToken);
      expect(overToken.body.errors[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED', limit: 'token' } });
      expect(overToken.body.errors[0].message).toMatch(/Too many requests with this token: retry after \d+ s/);
      const restOverToken = await call(t.url, { path: '/organisations/x/integrations', from: '198.51.100.51', token: user.token });
      expectTooMany(restOverToken);
      expect(restOverToken.body).toEqual({ status: 'error', status_code: 429, message: expect.stringMatching(/^Too many requests with this token/) });
      // Another token from the same address goes on.
      expect((await gql(t.url, VIEWER, '198.51.100.50', ADMIN_TOKEN)).body.data.viewer.id).toBeTruthy();

      // Per address, with or without a token.
      const from = '192.0.2.77';
      for (let i = 0; i < 30; i++) expect((await gql(t.url, '{ __typename }', from)).status).toBe(200);
      expectTooMany(await gql(t.url, '{ __typename }', from));
      const restOverAddress = await call(t.url, { path: '/organisations/x/integrations', from, token: ADMIN_TOKEN });
      expectTooMany(restOverAddress);
      expect(restOverAddress.body).toMatchObject({ status: 'error', status_code: 429, message: expect.stringMatching(/^Too many requests from this address/) });
      // Probes and scrapes are never limited; other addresses go on.
      expect((await call(t.url, { path: '/healthz', from })).status).toBe(200);
      expect((await gql(t.url, '{ __typename }', '192.0.2.78')).status).toBe(200);

      const metric = await scrape(t.url);
      expect(metric('switchboard_rate_limited_total', { limit: 'token' })).toBe(2);
      expect(metric('switchboard_rate_limited_total', { limit: 'address' })).toBe(2);
      expect(metric('switchboard_http_requests_total', { status_code: '429' })).toBe(4);
    });

    it('documents the 429 on every limited REST route, in its door\'s envelope, and not on the probes', async () => {
      const t = await start({});
      const doc = (await (await fetch(`${t.url}/docs/json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, any> }>> };
      const tooMany = (path: string, method: string) => doc.paths[path]?.[method]?.responses['429'];
      expect(tooMany('/v1/webhooks/{channelId}', 'post')).toMatchObject({ headers: { 'retry-after': expect.anything() } });
      expect(tooMany('/v1/webhooks/{channelId}', 'post').content['application/json'].schema.properties).toHaveProperty('status_code');
      expect(tooMany('/hooks/{integrationId}/{token}', 'post').content['application/json'].schema.properties.errorType.enum).toEqual(['error-too-many-requests']);
      expect(tooMany('/organisations/{organisationId}/integrations', 'get')).toBeDefined();
      expect(tooMany('/healthz', 'get')).toBeUndefined();
    });

    it('refuses credentials from an address that failed authentication too often, on every door, but not the token holder elsewhere', async () => {
      const t = await start({ RATE_LIMIT_AUTH_FAILURES: '5/1m' });
      const org = await createOrg(t, 'Guessed');
      const channel = await createChannel(t, org, 'public');
      const attacker = '203.0.113.9';
      const wrong = () => `sb_${randomBytes(32).toString('base64url')}`;

      // Five failures through five doors: GraphQL (a 200 with no viewer), REST (401), Rocket.Chat's API (401),
      // an incoming hook's URL token (404) and a custom channel's bearer (401).
      expect((await gql(t.url, VIEWER, attacker, wrong())).body.data.viewer).toBeNull();
      expect((await call(t.url, { path: '/organisations/x/integrations', from: attacker, token: wrong() })).status).toBe(401);
      expect((await call(t.url, { path: '/api/v1/integrations.list', from: attacker, headers: { 'x-auth-token': wrong(), 'x-user-id': randomUUID() } })).status).toBe(401);
      expect((await call(t.url, { path: `/hooks/${randomUUID()}/${wrong()}`, from: attacker, body: { text: 'x' } })).status).toBe(404);
      expect((await call(t.url, { path: '/custom/channel/webhook', from: attacker, token: wrong(), body: {} })).status).toBe(401);

      // From now on every request of that address that carries a credential is refused before any lookup,
      // even with a valid token, each in its door's shape.
      const graphqlRefused = await gql(t.url, VIEWER, attacker, ADMIN_TOKEN);
      expectTooMany(graphqlRefused);
      expect(graphqlRefused.body.errors[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED', limit: 'auth_failures' } });
      const hookRefused = await call(t.url, { path: `/hooks/${randomUUID()}/${wrong()}`, from: attacker, body: { text: 'x' } });
      expectTooMany(hookRefused);
      expect(hookRefused.body).toMatchObject({ success: false, errorType: 'error-too-many-requests', error: expect.stringContaining('[error-too-many-requests]') });
      expectTooMany(await call(t.url, { path: '/api/v1/integrations.list', from: attacker, headers: { 'x-auth-token': ADMIN_TOKEN, 'x-user-id': randomUUID() } }));
      const socket = openSocket(t.url, { token: ADMIN_TOKEN, from: attacker });
      expect(await socket.closed).toEqual({ code: 4429, reason: expect.stringMatching(/^Too many failed authentications from this address/) });

      // Without credentials the address goes on (a webhook needs none); the token's holder elsewhere is untouched.
      expect((await webhook(t.url, channel.id, attacker)).status).toBe(202);
      expect((await gql(t.url, VIEWER, '198.51.100.7', ADMIN_TOKEN)).body.data.viewer.id).toBeTruthy();

      const metric = await scrape(t.url);
      expect(metric('switchboard_auth_failures_total')).toBe(5);
      expect(metric('switchboard_rate_limited_total', { limit: 'auth_failures' })).toBe(4);
    });

    it('limits posts and body bytes per channel on webhooks and return URLs, chunked bodies included', async () => {
      const t = await start({ RATE_LIMIT_CHANNEL: '5/1m', RATE_LIMIT_CHANNEL_BYTES: '4000/1m' });
      const org = await createOrg(t, 'Inbound');
      const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map((name) => createChannel(t, org, name)));

      // Webhooks and return URLs of one channel share its count, from any address.
      for (let i = 0; i < 3; i++) expect((await webhook(t.url, a.id, `198.51.100.${i + 1}`)).status).toBe(202);
      for (let i = 0; i < 2; i++) expect((await call(t.url, { path: `/v1/return/${a.id}?message=back${i}`, from: '198.51.100.9' })).status).toBe(202);
      const refused = await webhook(t.url, a.id, '198.51.100.10');
      expectTooMany(refused);
      expect(refused.body).toEqual({ status: 'error', status_code: 429, message: expect.stringMatching(/^Too many posts to this channel: retry after \d+ s/) });
      expectTooMany(await call(t.url, { path: `/v1/return/${a.id}?message=again`, from: '198.51.100.11' }));
      expect((await webhook(t.url, b.id, '198.51.100.10')).status).toBe(202);

      // Bytes: the announced Content-Length is charged before the body is read.
      const text = 'x'.repeat(1_400);
      expect((await webhook(t.url, c.id, '198.51.100.20', text)).status).toBe(202);
      expect((await webhook(t.url, c.id, '198.51.100.20', text)).status).toBe(202);
      const tooBig = await webhook(t.url, c.id, '198.51.100.20', text);
      expectTooMany(tooBig);
      expect(tooBig.body.message).toMatch(/^Too many bytes posted to this channel/);

      // A chunked body announces no length: it is counted as read and charged before the handler runs.
      const chunked = async () => {
        const body = new TextEncoder().encode(JSON.stringify({ event_name: 'e', message: 'y'.repeat(2_500), status: 's', username: 'u' }));
        const stream = new ReadableStream({
          start(controller) {
            controller.enqueue(body.slice(0, 1_000));
            controller.enqueue(body.slice(1_000));
            controller.close();
          },
        });
        const res = await fetch(`${t.url}/v1/webhooks/${d.id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
        return res.status;
      };
      expect(await chunked()).toBe(202);
      expect(await chunked()).toBe(429);

      const metric = await scrape(t.url);
      expect(metric('switchboard_rate_limited_total', { limit: 'channel' })).toBe(2);
      expect(metric('switchboard_rate_limited_total', { limit: 'channel_bytes' })).toBe(2);
      expect(metric('switchboard_webhook_messages_total', { outcome: 'rejected', reason: 'rate_limited' })).toBe(4);
    });

    it('caps graphql-ws connections per token and per address (4429), operations per socket (an error), and SSE streams per token', async () => {
      const t = await start({ RATE_LIMIT_SOCKETS_PER_TOKEN: '2', RATE_LIMIT_SOCKETS_PER_ADDRESS: '4', RATE_LIMIT_SUBSCRIPTIONS_PER_SOCKET: '2' });
      const user = await createUser(t, 'subscriber');
      const org = await createOrg(t, 'Sockets');
      const channel = await createChannel(t, org, 'live');
      const sseUser = await createUser(t, 'sse');
      // Members, so that their subscriptions stay open.
      await addMember(t, org, user.id, 'MEMBER');
      await addMember(t, org, sseUser.id, 'MEMBER');
      const sockets: ReturnType<typeof openSocket>[] = [];
      const open = (options: Parameters<typeof openSocket>[1]) => {
        const s = openSocket(t.url, options);
        sockets.push(s);
        return s;
      };
      try {
        // Per token: two open, the third is closed with 4429; once one closes, its place is free again.
        const first = open({ token: ADMIN_TOKEN, from: '198.51.100.1' });
        const second = open({ token: ADMIN_TOKEN, from: '198.51.100.2' });
        expect([await first.acked, await second.acked]).toEqual([true, true]);
        const third = open({ token: ADMIN_TOKEN, from: '198.51.100.3' });
        expect(await third.closed).toEqual({ code: 4429, reason: expect.stringMatching(/^Too many open subscription connections with this token/) });
        first.ws.close();
        await first.closed;
        expect(await open({ token: ADMIN_TOKEN, from: '198.51.100.3' }).acked).toBe(true);

        // Per address, whatever the token.
        const other = await createUser(t, 'other');
        const from = '192.0.2.40';
        const four = [open({ token: other.token, from }), open({ token: other.token, from }), open({ token: sseUser.token, from }), open({ token: user.token, from })];
        expect(await Promise.all(four.map((s) => s.acked))).toEqual([true, true, true, true]);
        four[2]!.ws.close();
        await four[2]!.closed;
        four[2] = open({ token: user.token, from });
        expect(await four[2].acked).toBe(true);
        const fifth = open({ token: sseUser.token, from });
        expect(await fifth.closed).toEqual({ code: 4429, reason: expect.stringMatching(/^Too many open subscription connections from this address/) });

        // Operations per socket: the third is refused with an error of its own; the socket stays open.
        const s = four[3]!;
        s.subscribe('1', channel.id);
        s.subscribe('2', channel.id);
        s.subscribe('3', channel.id);
        const refused = await until(() => s.messages.find((m) => m.id === '3' && m.type === 'error'));
        expect(refused.payload[0]).toMatchObject({ message: expect.stringMatching(/^Too many operations at once on this connection/), extensions: { code: 'RATE_LIMITED', limit: 'subscriptions_per_socket' } });
        s.complete('1');
        await new Promise((r) => setTimeout(r, 200));
        s.subscribe('4', channel.id);
        await until(async () => {
          await webhook(t.url, channel.id, '198.51.100.70', 'to the fourth');
          return s.messages.find((m) => m.id === '4' && m.type === 'next');
        });
        expect(s.ws.readyState).toBe(WebSocket.OPEN);

        // SSE streams hold the same places: a token's third stream is 429.
        const one = await openStream(t.url, channel.id, sseUser.token, '198.51.100.60');
        const two = await openStream(t.url, channel.id, sseUser.token, '198.51.100.61');
        expect([one.res.status, two.res.status]).toEqual([200, 200]);
        const three = await openStream(t.url, channel.id, sseUser.token, '198.51.100.62');
        expect(three.res.status).toBe(429);
        expect(three.res.headers.get('retry-after')).toBe('10');
        expect((await three.res.json()).errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'sockets_per_token' });
        one.close();
        await until(async () => {
          const again = await openStream(t.url, channel.id, sseUser.token, '198.51.100.63');
          again.close();
          return again.res.status === 200;
        });
        two.close();

        const metric = await scrape(t.url);
        expect(metric('switchboard_rate_limited_total', { limit: 'sockets_per_token' })).toBeGreaterThanOrEqual(2);
        expect(metric('switchboard_rate_limited_total', { limit: 'sockets_per_address' })).toBe(1);
        expect(metric('switchboard_rate_limited_total', { limit: 'subscriptions_per_socket' })).toBeGreaterThanOrEqual(1);
      } finally {
        for (const s of sockets) s.ws.terminate();
      }
    });
  });
}

for (const c of GATEWAY_PAIR_CASES) {
  describe.skipIf(!c.available)(`rate limits on Redis, shared by two gateway processes (${c.label})`, () => {
    let pair: GatewayPair | undefined;
    let a: GatewayProcess;
    let b: GatewayProcess;

    beforeAll(async () => {
      pair = await startGatewayPair(c.db, {
        TRUST_PROXY: 'loopback',
        RATE_LIMIT_TOKEN: '10/1m',
        RATE_LIMIT_AUTH_FAILURES: '4/1m',
        RATE_LIMIT_CHANNEL: '6/1m',
        RATE_LIMIT_SOCKETS_PER_TOKEN: '2',
      });
      ({ a, b } = pair);
    }, 120_000);

    afterAll(async () => {
      await pair?.stop();
    });

    it('one count for both replicas: tokens, failed authentications, channels and connections', async () => {
      const api = remoteGateway(a.url);
      const user = await createUser(api, 'replicated');
      const org = await createOrg(api, 'Replicas');
      const channel = await createChannel(api, org, 'shared');
      const [A, B] = [a.url, b.url];

      // Ten requests with one token, alternating replicas: the eleventh is refused by either.
      for (let i = 0; i < 10; i++) expect((await gql(i % 2 ? B : A, VIEWER, `198.51.100.${i + 1}`, user.token)).status).toBe(200);
      expectTooMany(await gql(A, VIEWER, '198.51.100.20', user.token));
      expectTooMany(await gql(B, VIEWER, '198.51.100.21', user.token));

      // Failed authentications of one address on both replicas add up; its holder elsewhere goes on.
      const attacker = '203.0.113.50';
      for (const url of [A, B, A, B]) expect((await gql(url, VIEWER, attacker, `sb_${randomBytes(16).toString('hex')}`)).body.data.viewer).toBeNull();
      const blockedA = await gql(A, VIEWER, attacker, ADMIN_TOKEN);
      expectTooMany(blockedA);
      expect(blockedA.body.errors[0].extensions.limit).toBe('auth_failures');
      expectTooMany(await gql(B, VIEWER, attacker, ADMIN_TOKEN));
      expect((await gql(B, VIEWER, '198.51.100.99', ADMIN_TOKEN)).status).toBe(200);

      // Six posts to one channel through both replicas, then either refuses.
      for (let i = 0; i < 6; i++) expect((await webhook(i % 2 ? B : A, channel.id, `198.51.100.${30 + i}`)).status).toBe(202);
      expectTooMany(await webhook(A, channel.id, '198.51.100.40'));
      expectTooMany(await webhook(B, channel.id, '198.51.100.41'));

      // Connections per token: one on each replica, a third on either is closed with 4429; closing one on B
      // frees a place for a connection on A.
      let refusedRetries = 0;
      const onA = openSocket(A, { token: ADMIN_TOKEN, from: '198.51.100.50' });
      const onB = openSocket(B, { token: ADMIN_TOKEN, from: '198.51.100.51' });
      try {
        expect([await onA.acked, await onB.acked]).toEqual([true, true]);
        const third = openSocket(A, { token: ADMIN_TOKEN, from: '198.51.100.52' });
        expect((await third.closed).code).toBe(4429);
        onB.ws.close();
        await onB.closed;
        // Until B's close reaches the shared count, a try on A is refused (and counted) like the third.
        const again = await until(async () => {
          const socket = openSocket(A, { token: ADMIN_TOKEN, from: '198.51.100.53' });
          if (await socket.acked) return socket;
          refusedRetries++;
          return null;
        }, 5_000);
        again.ws.terminate();
      } finally {
        onA.ws.terminate();
        onB.ws.terminate();
      }

      const [metricA, metricB] = await Promise.all([scrape(A), scrape(B)]);
      for (const limit of ['token', 'auth_failures', 'channel']) {
        expect(metricA('switchboard_rate_limited_total', { limit }), limit).toBe(1);
        expect(metricB('switchboard_rate_limited_total', { limit }), limit).toBe(1);
      }
      expect(metricA('switchboard_rate_limited_total', { limit: 'sockets_per_token' })).toBe(1 + refusedRetries);
      expect(metricA('switchboard_auth_failures_total') + metricB('switchboard_auth_failures_total')).toBe(4);
    }, 60_000);
  });
}
