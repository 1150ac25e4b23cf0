/**
 * The gateway as an operator runs it (src/main.ts in a child process): SIGTERM in the middle of a burst
 * of webhook posts with live subscribers, then a restart on the same database.
 */
import { createClient, type Client } from 'graphql-ws';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { graphql } from './gql/index.js';
import { ADMIN_TOKEN, type TestApp } from './support/app.js';
import { json, serveJson, startServer, type LocalServer } from './support/http-server.js';
import { freePort, remoteGateway, spawnGateway, type GatewayProcess } from './support/ops.js';
import { addIntegration, createChannel, createOrg } from './support/seed.js';
import { databases, freshDatabase } from './support/services.js';
import { until } from './support/wait.js';

const OpsEnable = graphql(`
  mutation OpsEnable($integrationId: ID!, $channelId: ID!) {
    enableIntegration(input: { integrationId: $integrationId, channelId: $channelId }) {
      __typename
      ... on Error { message }
    }
  }
`);

const OpsMessages = graphql(`
  query OpsMessages($channelId: ID!, $after: String) {
    messages(channelId: $channelId, first: 100, after: $after) {
      edges { node { id message } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const SUBSCRIPTION = 'subscription($channelId: ID!) { channelMessages(channelId: $channelId) { id message } }';
const SHUTDOWN_TIMEOUT_MS = 8_000;

function outputSpec(targetUrl: string) {
  return {
    data: {
      descriptions: { app_name: 'Archive', app_description: 'keeps a copy of every message' },
      integration_type: 'output',
      is_active: true,
      settings: [],
      target_url: targetUrl,
    },
  };
}

function webhookBody(channelId: string, message: string) {
  return {
    channel_id: channelId,
    webhook_slug: 'burst',
    action_type: 'notify',
    status_code: 200,
    event_name: 'burst',
    username: 'load',
    status: 'success',
    message,
    user_id: 'u1',
    org_id: 'o1',
  };
}

async function allMessages(t: TestApp, channelId: string) {
  const out: { id: string; message: string }[] = [];
  let after: string | null | undefined;
  for (;;) {
    const page = await t.gql(OpsMessages, { channelId, after });
    out.push(...page.messages.edges.map((e) => e.node));
    if (!page.messages.pageInfo.hasNextPage) return out;
    after = page.messages.pageInfo.endCursor;
  }
}

for (const db of databases) {
  describe(`graceful shutdown of the gateway process (${db})`, () => {
    const cleanup: (() => unknown)[] = [];
    afterAll(async () => {
      for (const fn of cleanup.reverse()) await fn();
    });

    it('SIGTERM during a burst: every 2xx message is stored, subscribers get 1001, exit 0 in time, a restart delivers the pending retries', async () => {
      const database = await freshDatabase(db);
      cleanup.push(() => database.drop());
      // The output integration fails while the first process runs, so every delivery is left pending a retry.
      let outputUp = false;
      const delivered = new Set<string>();
      const output: LocalServer = await startServer((req, res) => {
        if (!outputUp) return json(res, 500, { error: 'down for maintenance' });
        delivered.add((req.json as { message: string }).message);
        json(res, 202, { status: 'accepted' });
      });
      cleanup.push(() => output.close());
      const specs = await serveJson({ '/output.json': outputSpec(`${output.url}/out`) });
      cleanup.push(() => specs.close());

      const env = {
        DATABASE_URL: database.url,
        SWITCHBOARD_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'sb-data-')),
        SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
        OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8,::1',
        LOG_LEVEL: 'info',
        SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
        // The failures below open the output's circuit: after the restart its probe goes out within a second
        // (the default cool-down, a minute, would outlast the test's wait).
        DELIVERY_CIRCUIT_COOLDOWN_SECONDS: '1',
      };
      const first: GatewayProcess = await spawnGateway(env, await freePort());
      cleanup.push(() => first.kill());
      const a = remoteGateway(first.url);
      const org = await createOrg(a, 'Shutdown');
      const channel = await createChannel(a, org, 'busy');
      const integrationId = await addIntegration(a, org, `${specs.url}/output.json`);
      expect((await a.gql(OpsEnable, { integrationId, channelId: channel.id })).enableIntegration.__typename).toBe('MutationEnableIntegrationSuccess');

      // Live subscribers.
      const closes: number[] = [];
      const received: string[][] = [];
      const clients: Client[] = [];
      for (let i = 0; i < 3; i++) {
        const got: string[] = [];
        received.push(got);
        const client = createClient({
          url: `${first.url.replace('http', 'ws')}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` },
          retryAttempts: 0,
          on: { closed: (event) => closes.push((event as { code: number }).code) },
        });
        clients.push(client);
        cleanup.push(() => client.dispose());
        client.subscribe({ query: SUBSCRIPTION, variables: { channelId: channel.id } }, { next: (m) => got.push((m.data as { channelMessages: { message: string } }).channelMessages.message), error: () => undefined, complete: () => undefined });
      }
      await until(async () => {
        const res = await fetch(`${first.url}/metrics`);
        return /switchboard_active_subscriptions\{[^}]*transport="websocket"[^}]*\} 3/.test(await res.text());
      }, 10_000, 'three live subscriptions');

      // The burst: 16 senders posting back to back until the gateway stops answering.
      const accepted = new Map<string, string>(); // message text -> id
      const refused: number[] = [];
      let sent = 0;
      let signalledAt = 0;
      const sender = async () => {
        for (;;) {
          const text = `burst-${sent++}`;
          try {
            const res = await fetch(`${first.url}/v1/webhooks/${channel.id}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(webhookBody(channel.id, text)),
            });
            const body = (await res.json()) as { data?: { id: string } };
            if (res.status === 202) accepted.set(text, body.data!.id);
            else refused.push(res.status);
          } catch {
            return; // connection refused or reset: the listener is closed
          }
          if (signalledAt && Date.now() - signalledAt > SHUTDOWN_TIMEOUT_MS) return;
        }
      };
      const senders = Array.from({ length: 16 }, sender);
      // SIGTERM once 100 messages are in, and at most 1.5 s after the first: well before the first retry of
      // the failed output deliveries (5 s), which must be left for the next process.
      await until(() => accepted.size > 0, 20_000, 'the burst to get going');
      const firstAcceptedAt = Date.now();
      await until(() => accepted.size >= 100 || Date.now() - firstAcceptedAt > 1_500, 5_000, 'the burst');
      signalledAt = Date.now();
      first.child.kill('SIGTERM');
      await Promise.all(senders);
      const exit = await first.exited;

      expect(exit.code).toBe(0);
      expect(exit.at - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
      // Requests that arrived while draining were refused with 503 (or found the listener closed), never lost silently.
      expect(refused.every((s) => s === 503)).toBe(true);
      await until(() => closes.length === 3, 5_000, 'the subscribers to see the close');
      expect(closes).toEqual([1001, 1001, 1001]);
      // Every subscriber saw messages live until the close.
      for (const got of received) expect(got.length).toBeGreaterThan(0);
      // The process logged its shutdown in JSON and never printed the admin token.
      expect(first.stdout()).toMatch(/"msg":"shutdown complete"/);
      expect(first.stdout()).not.toContain(ADMIN_TOKEN);

      // A new process on the same database: every answered message is there, and the pending retries go out.
      outputUp = true;
      const second = await spawnGateway(env, await freePort());
      cleanup.push(() => second.kill());
      const b = remoteGateway(second.url);
      const stored = await allMessages(b, channel.id);
      const storedIds = new Set(stored.map((m) => m.id));
      const missing = [...accepted.values()].filter((id) => !storedIds.has(id));
      expect(missing).toEqual([]);
      await until(() => [...accepted.keys()].every((text) => delivered.has(text)), 30_000, 'the pending output deliveries after restart');

      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
    }, 90_000);
  });
}
