import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics, scrape, startOpsApp, type OpsApp } from './support/ops.js';
import { createChannel, createOrg } from './support/seed.js';
import { databases } from './support/services.js';
import { until } from './support/wait.js';

const SUBSCRIPTION = 'subscription($channelId: ID!) { channelMessages(channelId: $channelId) { id message } }';

function webhookBody(channelId: string, message: string) {
  return {
    channel_id: channelId,
    webhook_slug: 'metrics',
    action_type: 'notify',
    status_code: 200,
    event_name: 'test',
    username: 'bot',
    status: 'success',
    message,
    user_id: 'u1',
    org_id: 'o1',
  };
}

for (const db of databases) {
  describe(`Prometheus metrics (${db})`, () => {
    let t: OpsApp;
    beforeAll(async () => {
      t = await startOpsApp(db, { level: 'warn' });
    });
    afterAll(() => t?.close());

    it('serves valid exposition text with the Node.js defaults and every switchboard metric declared', async () => {
      const res = await fetch(`${t.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      const names = new Set(parseMetrics(text).map((s) => s.name));
      for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
        expect(names, name).toContain(name);
      }
      for (const declared of [
        'switchboard_http_requests_total',
        'switchboard_http_request_duration_seconds',
        'switchboard_webhook_messages_total',
        'switchboard_modifier_duration_seconds',
        'switchboard_modifier_skips_total',
        'switchboard_deliveries_total',
        'switchboard_websocket_connections',
        'switchboard_active_subscriptions',
        'switchboard_tick_lateness_seconds',
        'switchboard_job_store_errors_total',
      ]) {
        expect(text).toContain(`# TYPE ${declared} `);
      }
    });

    it('counts HTTP requests by route template and status, by exactly the traffic sent', async () => {
      const before = await scrape(t.url);
      for (let i = 0; i < 3; i++) expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
      for (let i = 0; i < 2; i++) expect((await fetch(`${t.url}/no/such/${i}`)).status).toBe(404);
      const gql = await t.gqlRaw('{ viewer { id } }');
      expect(gql.errors).toBeUndefined();
      const after = await scrape(t.url);
      const delta = (labels: Record<string, string>) => after('switchboard_http_requests_total', labels) - before('switchboard_http_requests_total', labels);
      expect(delta({ method: 'GET', route: '/healthz', status_code: '200' })).toBe(3);
      expect(delta({ method: 'GET', route: 'unmatched', status_code: '404' })).toBe(2);
      expect(delta({ method: 'POST', route: '/graphql', status_code: '200' })).toBe(1);
      // The previous scrape itself was answered (and counted) before this one.
      expect(delta({ method: 'GET', route: '/metrics', status_code: '200' })).toBe(1);
      // No raw URL ever becomes a label.
      expect(after('switchboard_http_requests_total', { route: '/no/such/0' })).toBe(0);
      const observed = after('switchboard_http_request_duration_seconds_count', { method: 'GET', route: '/healthz' }) - before('switchboard_http_request_duration_seconds_count', { method: 'GET', route: '/healthz' });
      expect(observed).toBe(3);
    });

    it('counts webhook messages accepted and rejected, with the reason', async () => {
      const org = await createOrg(t, `metrics-${db}`);
      const channel = await createChannel(t, org, 'metrics');
      const before = await scrape(t.url);
      const post = (channelId: string, body: unknown) =>
        fetch(`${t.url}/v1/webhooks/${channelId}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      for (let i = 0; i < 4; i++) expect((await post(channel.id, webhookBody(channel.id, `hello ${i}`))).status).toBe(202);
      const { message: _m, ...noMessage } = webhookBody(channel.id, 'x');
      expect((await post(channel.id, noMessage)).status).toBe(400);
      expect((await post('00000000-0000-4000-8000-000000000000', webhookBody('x', 'lost'))).status).toBe(404);
      const after = await scrape(t.url);
      const delta = (labels: Record<string, string>) => after('switchboard_webhook_messages_total', labels) - before('switchboard_webhook_messages_total', labels);
      expect(delta({ outcome: 'accepted', source: 'webhook' })).toBe(4);
      expect(delta({ outcome: 'rejected', source: 'webhook', reason: 'validation' })).toBe(1);
      expect(delta({ outcome: 'rejected', source: 'webhook', reason: 'not_found' })).toBe(1);
    });

    it('tracks open WebSocket connections and active subscriptions, up and back down', async () => {
      const org = await createOrg(t, `ws-${db}`);
      const channel = await createChannel(t, org, 'live');
      const base = await scrape(t.url);
      const connections = async () => (await scrape(t.url))('switchboard_websocket_connections');
      const subscriptions = async () => (await scrape(t.url))('switchboard_active_subscriptions', { transport: 'websocket' });
      const clients: Client[] = [];
      const stops: (() => void)[] = [];
      try {
        for (let i = 0; i < 2; i++) {
          const client = createClient({
            url: `${t.url.replace('http', 'ws')}/graphql`,
            webSocketImpl: WebSocket,
            connectionParams: { authorization: `Bearer ${t.token}` },
            lazy: false,
            retryAttempts: 0,
          });
          clients.push(client);
        }
        await until(async () => (await connections()) === base('switchboard_websocket_connections') + 2);
        const received: string[] = [];
        for (const client of clients) {
          for (let j = 0; j < 2; j++) {
            stops.push(
              client.subscribe(
                { query: SUBSCRIPTION, variables: { channelId: channel.id } },
                { next: (m) => received.push(JSON.stringify(m)), error: (e) => received.push(`error ${String(e)}`), complete: () => undefined },
              ),
            );
          }
        }
        const subsBase = base('switchboard_active_subscriptions', { transport: 'websocket' });
        await until(async () => (await subscriptions()) === subsBase + 4);
        stops[0]();
        await until(async () => (await subscriptions()) === subsBase + 3);
        await clients[1].dispose();
        await until(async () => (await subscriptions()) === subsBase + 1);
        await until(async () => (await connections()) === base('switchboard_websocket_connections') + 1);
        expect(received.filter((r) => r.startsWith('error'))).toEqual([]);
      } finally {
        for (const client of clients) await client.dispose();
      }
      await until(async () => (await connections()) === base('switchboard_websocket_connections'));
      await until(async () => (await subscriptions()) === base('switchboard_active_subscriptions', { transport: 'websocket' }));
    });

    it('counts a subscription over SSE while its stream is open', async () => {
      const org = await createOrg(t, `sse-${db}`);
      const channel = await createChannel(t, org, 'sse');
      const sse = async () => (await scrape(t.url))('switchboard_active_subscriptions', { transport: 'sse' });
      const base = await sse();
      const abort = new AbortController();
      const res = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${t.token}` },
        body: JSON.stringify({ query: SUBSCRIPTION, variables: { channelId: channel.id } }),
        signal: abort.signal,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
      try {
        await until(async () => (await sse()) === base + 1);
        const post = await fetch(`${t.url}/v1/webhooks/${channel.id}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(webhookBody(channel.id, 'over sse')),
        });
        expect(post.status).toBe(202);
        const reader = res.body!.getReader();
        let text = '';
        while (!text.includes('over sse')) {
          const { value, done } = await reader.read();
          if (done) break;
          text += new TextDecoder().decode(value);
        }
        expect(text).toContain('over sse');
      } finally {
        abort.abort();
      }
      await until(async () => (await sse()) === base);
    });
  });
}
