/**
 * Receiver-respecting retries, against real local HTTP servers: a 429 or 503 with Retry-After (seconds or an
 * HTTP-date) sets the next attempt's time instead of the schedule, capped by DELIVERY_RETRY_AFTER_MAX_SECONDS;
 * a 3xx is a failed attempt and its Location is never called.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { json, serveJson, startServer, type LocalServer } from './support/http-server.js';
import { addIntegration, createChannel, createOrg } from './support/seed.js';
import { databases } from './support/services.js';
import { until } from './support/wait.js';

const HISTORY = `query RetryAfterHistory($id: ID!) { channel(id: $id) { deliveries(first: 100) { edges { node {
  id attempt status statusCode error nextAttemptAt createdAt updatedAt } } } } }`;

interface Row {
  id: string;
  attempt: number;
  status: string;
  statusCode: number | null;
  error: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  updatedAt: string;
}

const MAX_SECONDS = 3;

for (const db of databases) {
  describe(`receiver-respecting retries (${db})`, () => {
    let t: TestApp;
    let orgId: string;
    const servers: LocalServer[] = [];

    beforeAll(async () => {
      t = await startTestApp(db, { DELIVERY_RETRY_AFTER_MAX_SECONDS: String(MAX_SECONDS) });
      orgId = await createOrg(t, 'Retry-After');
    });
    afterAll(async () => {
      await t.close();
      await Promise.all(servers.map((s) => s.close()));
    });

    const history = async (channelId: string): Promise<Row[]> =>
      (await t.gqlData(HISTORY, { id: channelId })).channel.deliveries.edges.map((e: { node: Row }) => e.node).reverse();

    /** A channel whose output is `handler`, and one message posted to it. */
    async function outputCall(name: string, handler: Parameters<typeof startServer>[0]) {
      const receiver = await startServer(handler);
      const specs = await serveJson({
        '/spec.json': { data: { descriptions: { app_name: name }, integration_type: 'output', is_active: true, settings: [], target_url: `${receiver.url}/hook` } },
      });
      servers.push(receiver, specs);
      const integrationId = await addIntegration(t, orgId, `${specs.url}/spec.json`);
      const channel = await createChannel(t, orgId, name);
      const enabled = await t.gqlRaw(`mutation RetryAfterEnable($i: ID!, $c: ID!) { enableIntegration(input: { integrationId: $i, channelId: $c }) { __typename } }`, {
        i: integrationId,
        c: channel.id,
      });
      expect((enabled.data as any).enableIntegration.__typename).toBe('MutationEnableIntegrationSuccess');
      const res = await fetch(`${t.url}/v1/webhooks/${channel.id}?message=${name}`);
      expect(res.status).toBe(202);
      return { receiver, channelId: channel.id };
    }

    it('waits the seconds a 429 asks for (1 s), not the schedule (5 s), and then succeeds', async () => {
      const arrivals: number[] = [];
      const { channelId } = await outputCall('busy', (_req, res) => {
        arrivals.push(Date.now());
        if (arrivals.length === 1) {
          res.writeHead(429, { 'retry-after': '1' });
          res.end();
        } else json(res, 202, {});
      });
      const rows = await until(async () => {
        const r = await history(channelId);
        return r.length === 2 && r[1].status === 'succeeded' ? r : null;
      });
      expect(rows[0]).toMatchObject({ attempt: 1, status: 'retried', statusCode: 429 });
      const waited = arrivals[1] - arrivals[0];
      expect(waited).toBeGreaterThanOrEqual(950);
      // Due one second after the answer, sent at the worker's next poll (every second): well before the schedule's 5 s.
      expect(waited).toBeLessThan(3_500);
    });

    it('reads a Retry-After date on a 503, and caps a wait longer than DELIVERY_RETRY_AFTER_MAX_SECONDS', async () => {
      const dated = await outputCall('maintenance', (_req, res) => {
        res.writeHead(503, { 'retry-after': new Date(Date.now() + 2_500).toUTCString() });
        res.end();
      });
      const capped = await outputCall('away', (_req, res) => {
        res.writeHead(429, { 'retry-after': '86400' });
        res.end();
      });
      const wait = async (channelId: string) => {
        const [failed, next] = await until(async () => {
          const r = await history(channelId);
          return r.length >= 2 && r[1].status === 'pending' ? r : null;
        });
        return new Date(next.nextAttemptAt!).getTime() - new Date(failed.updatedAt).getTime();
      };
      // An HTTP-date has whole seconds: 2.5 s ahead is 1.5 to 2.5 s after the answer.
      const datedWait = await wait(dated.channelId);
      expect(datedWait).toBeGreaterThan(1_000);
      expect(datedWait).toBeLessThan(3_000);
      const cappedWait = await wait(capped.channelId);
      expect(cappedWait).toBeGreaterThan(MAX_SECONDS * 1_000 - 300);
      expect(cappedWait).toBeLessThan(MAX_SECONDS * 1_000 + 300);
    });

    it('without Retry-After, a 503 follows the schedule (5 s)', async () => {
      const { channelId } = await outputCall('plain-503', (_req, res) => {
        res.writeHead(503);
        res.end();
      });
      const [failed, next] = await until(async () => {
        const r = await history(channelId);
        return r.length >= 2 ? r : null;
      });
      const waited = new Date(next.nextAttemptAt!).getTime() - new Date(failed.updatedAt).getTime();
      expect(Math.abs(waited - 5_000)).toBeLessThan(300);
    });

    it('records a 3xx as a failed attempt and never follows it', async () => {
      const elsewhere = await startServer((_req, res) => json(res, 200, {}));
      servers.push(elsewhere);
      const { channelId, receiver } = await outputCall('moved', (_req, res) => {
        res.writeHead(301, { location: `${elsewhere.url}/new-home` });
        res.end();
      });
      const [first] = await until(async () => {
        const r = await history(channelId);
        return r.length >= 2 ? r : null;
      });
      expect(first).toMatchObject({ attempt: 1, status: 'retried', statusCode: 301 });
      expect(first.error).toMatch(/redirect/);
      expect(receiver.requests).toHaveLength(1);
      expect(elsewhere.requests).toHaveLength(0);
    });
  });
}
