import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { DeliveryResult } from '../src/modules/deliveries/deliveries.service.js';
import { graphql } from './gql/index.js';
import { ADMIN_TOKEN, remoteGateway, startTestApp, type TestApp } from './support/app.js';
import { json, serveJson, startServer, type LocalServer } from './support/http-server.js';
import { addIntegration, createChannel, createOrg } from './support/seed.js';
import { databases, freshDatabase } from './support/services.js';
import { until } from './support/wait.js';

const Enable = graphql(`
  mutation DelEnable($integrationId: ID!, $channelId: ID!) {
    enableIntegration(input: { integrationId: $integrationId, channelId: $channelId }) { __typename ... on Error { message } }
  }
`);

const History = graphql(`
  query DelHistory($id: ID!, $kind: String, $status: String, $first: Int, $after: String) {
    channel(id: $id) {
      integrations { integration { id } }
      deliveries(kind: $kind, status: $status, first: $first, after: $after) {
        edges { cursor node { id kind targetId channelId url attempt status statusCode latencyMs error response nextAttemptAt messageId } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);

function outputSpec(targetUrl: string, name: string) {
  return {
    data: {
      descriptions: { app_name: name },
      integration_type: 'output',
      is_active: true,
      settings: [{ label: 'Max Retries', type: 'number', required: false, default: 3 }],
      target_url: targetUrl,
    },
  };
}

function post(url: string, channelId: string, message: string) {
  return fetch(`${url}/v1/webhooks/${channelId}?message=${encodeURIComponent(message)}`).then(async (r) => {
    if (r.status !== 202) throw new Error(`${r.status} ${await r.text()}`);
    return ((await r.json()) as { data: { id: string } }).data.id;
  });
}

for (const db of databases) {
  describe(`output deliveries (${db})`, () => {
    let t: TestApp;
    let orgId: string;
    const servers: LocalServer[] = [];
    const history = async (channelId: string, kind = 'output') => (await t.gql(History, { id: channelId, kind, first: 100 })).channel!;

    beforeAll(async () => {
      t = await startTestApp(db);
      orgId = await createOrg(t, 'Outputs');
    });
    afterAll(async () => {
      await t.close();
      await Promise.all(servers.map((s) => s.close()));
    });

    async function output(handler: Parameters<typeof startServer>[0], name: string) {
      const target = await startServer(handler);
      const specs = await serveJson({ '/spec.json': outputSpec(`${target.url}/hook`, name) });
      servers.push(target, specs);
      const integrationId = await addIntegration(t, orgId, `${specs.url}/spec.json`);
      return { target, integrationId };
    }

    it('delivers each stored message to the output without holding the webhook answer, and records the attempt', async () => {
      let release: () => void = () => {};
      const held = new Promise<void>((r) => (release = r));
      let answered = false;
      const { target, integrationId } = await output(async (_req, res) => {
        await held;
        answered = true;
        json(res, 202, { status: 'accepted' });
      }, 'recorder');
      const channel = await createChannel(t, orgId, 'out');
      await t.gql(Enable, { integrationId, channelId: channel.id });

      const id = await post(t.url, channel.id, 'to the output');
      // The webhook was answered while the output was still holding its answer.
      expect(answered).toBe(false);
      await until(() => target.requests.length === 1);
      const pending = (await history(channel.id)).deliveries.edges.map((e) => e.node);
      expect(pending).toMatchObject([{ status: 'pending', attempt: 1, messageId: id, targetId: integrationId }]);
      release();
      const [done] = await until(async () => {
        const rows = (await history(channel.id)).deliveries.edges.map((e) => e.node);
        return rows[0]?.status === 'succeeded' ? rows : null;
      });
      expect(done).toMatchObject({ kind: 'output', status: 'succeeded', statusCode: 202, attempt: 1, error: null, url: `${target.url}/hook`, channelId: channel.id, response: '{"status":"accepted"}' });
      expect(done.latencyMs).toBeGreaterThanOrEqual(0);
      expect(target.requests[0].json).toEqual({
        message: 'to the output',
        channel_id: channel.id,
        org_id: orgId,
        thread_id: null,
        settings: [{ label: 'Max Retries', type: 'number', required: false, default: 3 }],
      });
    });

    it('switches an output off for the channel when it answers 410 Gone, without retrying', async () => {
      const { target, integrationId } = await output((_req, res) => json(res, 410, { error: 'gone' }), 'gone');
      const channel = await createChannel(t, orgId, 'gone');
      await t.gql(Enable, { integrationId, channelId: channel.id });
      expect((await history(channel.id)).integrations.map((i) => i.integration.id)).toEqual([integrationId]);
      await post(t.url, channel.id, 'first');
      const channelAfter = await until(async () => {
        const c = await history(channel.id);
        return c.integrations.length === 0 && c.deliveries.edges[0]?.node.status !== 'pending' ? c : null;
      });
      expect(channelAfter.deliveries.edges.map((e) => e.node)).toMatchObject([{ status: 'failed', statusCode: 410, error: 'HTTP 410', attempt: 1 }]);
      await post(t.url, channel.id, 'second');
      await new Promise((r) => setTimeout(r, 300));
      expect(target.requests).toHaveLength(1);
      expect((await history(channel.id)).deliveries.edges).toHaveLength(1);
    });

    it('lets a module react to the answers of its own kind of delivery', async () => {
      const replies: DeliveryResult[] = [];
      t.app.deps.deliveries.registerKind('test_reply', { onResult: (result) => void replies.push(result) });
      const target = await startServer((req, res) => json(res, 200, { text: `echo ${(req.json as { q: string }).q}` }));
      servers.push(target);
      const channel = await createChannel(t, orgId, 'kinds');
      const { id } = await t.app.deps.deliveries.enqueue(t.app.orm.em.fork(), {
        kind: 'test_reply',
        organisationId: orgId,
        channelId: channel.id,
        targetId: 'hook-1',
        url: `${target.url}/reply`,
        body: { q: 'hi' },
        headers: { 'x-token': 'secret-token' },
        retry: [],
      });
      await until(() => replies.length === 1);
      expect(replies[0]).toMatchObject({ ok: true, final: true, statusCode: 200, json: { text: 'echo hi' }, delivery: { id, kind: 'test_reply', targetId: 'hook-1', attempt: 1 } });
      expect(target.requests[0].headers['x-token']).toBe('secret-token');
      const rows = await until(async () => {
        const r = (await history(channel.id, 'test_reply')).deliveries.edges.map((e) => e.node);
        return r[0]?.status === 'succeeded' ? r : null;
      });
      expect(JSON.stringify(rows)).not.toContain('secret-token');
      // Headers may carry credentials: stored sealed, not in clear.
      const stored = await t.app.orm.em.getConnection().execute('select headers from deliveries where id = ?', [id]);
      expect(JSON.stringify(stored)).toMatch(/sealed/);
      expect(JSON.stringify(stored)).not.toContain('secret-token');
    });

    it('pages the history newest first and filters by status', async () => {
      const channel = await createChannel(t, orgId, 'paging');
      const target = await startServer((_req, res) => json(res, 500, { error: 'down' }));
      servers.push(target);
      for (let i = 0; i < 5; i++) {
        await t.app.deps.deliveries.enqueue(t.app.orm.em.fork(), { kind: 'paging', organisationId: orgId, channelId: channel.id, url: `${target.url}/x`, retry: [] });
      }
      await until(async () => (await t.gql(History, { id: channel.id, kind: 'paging', status: 'failed' })).channel!.deliveries.edges.length === 5);
      const p1 = (await t.gql(History, { id: channel.id, kind: 'paging', first: 3 })).channel!.deliveries;
      const p2 = (await t.gql(History, { id: channel.id, kind: 'paging', first: 3, after: p1.pageInfo.endCursor })).channel!.deliveries;
      const ids = [...p1.edges, ...p2.edges].map((e) => e.node.id);
      expect(ids).toHaveLength(5);
      expect(ids).toEqual([...ids].sort().reverse());
      expect(p1.pageInfo.hasNextPage).toBe(true);
      expect(p2.pageInfo.hasNextPage).toBe(false);
      const bad = await t.gqlRaw('query($id: ID!) { channel(id: $id) { deliveries(status: "lost") { edges { cursor } } } }', { id: channel.id });
      expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'status' });
    });
  });

  describe(`delivery retries survive a restart and are claimed once across replicas (${db})`, () => {
    let database: Awaited<ReturnType<typeof freshDatabase>>;
    const apps: App[] = [];
    const servers: LocalServer[] = [];
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sb-deliveries-'));

    async function start() {
      const config = loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: database.url,
        SWITCHBOARD_DATA_DIR: dataDir,
        SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
        OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8,::1',
        LOG_LEVEL: 'silent',
      });
      const app = await buildApp(config);
      apps.push(app);
      const url = await app.start();
      return { app, url };
    }

    beforeAll(async () => {
      database = await freshDatabase(db);
    });
    afterAll(async () => {
      for (const app of apps) await app.stop();
      await Promise.all(servers.map((s) => s.close()));
      await database.drop();
    });

    it('retries a failed output on the schedule after the gateway restarts', async () => {
      let calls = 0;
      const target = await startServer((_req, res) => {
        calls++;
        json(res, calls === 1 ? 503 : 202, {});
      });
      const specs = await serveJson({ '/spec.json': outputSpec(`${target.url}/hook`, 'flaky') });
      servers.push(target, specs);

      const first = await start();
      const t = remoteGateway(first.url);
      const orgId = await createOrg(t, 'Restart');
      const channel = await createChannel(t, orgId, 'flaky');
      const integrationId = await addIntegration(t, orgId, `${specs.url}/spec.json`);
      await t.gql(Enable, { integrationId, channelId: channel.id });
      const messageId = await post(first.url, channel.id, 'retry me');

      // The first attempt fails; the next is queued 5 s later (the Standard Webhooks schedule).
      const rows = await until(async () => {
        const r = (await t.gql(History, { id: channel.id, kind: 'output' })).channel!.deliveries.edges.map((e) => e.node);
        return r.length === 2 ? r : null;
      });
      expect(rows[1]).toMatchObject({ attempt: 1, status: 'retried', statusCode: 503, error: 'HTTP 503', messageId });
      expect(rows[0]).toMatchObject({ attempt: 2, status: 'pending', statusCode: null, messageId });
      const due = new Date(rows[0].nextAttemptAt!).getTime();
      await first.app.stop();
      expect(calls).toBe(1);

      // A new gateway on the same database (two replicas, to show the attempt is claimed once).
      const [a, b] = await Promise.all([start(), start()]);
      const retried = await until(async () => {
        const res = await fetch(`${a.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
          body: JSON.stringify({ query: 'query($id: ID!) { channel(id: $id) { deliveries(kind: "output") { edges { node { attempt status statusCode } } } } }', variables: { id: channel.id } }),
        });
        const body = (await res.json()) as { data: { channel: { deliveries: { edges: { node: { attempt: number; status: string; statusCode: number } }[] } } } };
        const r = body.data.channel.deliveries.edges.map((e) => e.node);
        return r[0]?.status === 'succeeded' ? r : null;
      }, 20_000);
      expect(Date.now()).toBeGreaterThanOrEqual(due);
      expect(retried).toMatchObject([{ attempt: 2, status: 'succeeded', statusCode: 202 }, { attempt: 1, status: 'retried' }]);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(calls).toBe(2);
      void b;
    }, 40_000);
  });
}
