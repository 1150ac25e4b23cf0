/**
 * stop() with requests in flight: they are answered; new ones are refused; one that never ends is cut
 * after the drain period so shutdown stays bounded.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { json, startServer, type LocalServer } from './support/http-server.js';
import { startOpsApp } from './support/ops.js';
import { createOrg } from './support/seed.js';
import { databases } from './support/services.js';

const ADD = 'mutation($o: ID!, $u: String!) { addIntegration(input: { organisationId: $o, jsonUrl: $u }) { __typename ... on MutationAddIntegrationSuccess { data { id } } ... on Error { message } } }';

const spec = {
  data: {
    descriptions: { app_name: 'Slow', app_description: 'served slowly' },
    integration_type: 'output',
    is_active: true,
    settings: [],
    target_url: 'http://127.0.0.1:9/out',
  },
};

/** POST GraphQL on a connection of its own; resolves with the status and body, or the socket error. */
function post(url: string, token: string, body: unknown) {
  return new Promise<{ status: number; body: string } | { error: string }>((resolve) => {
    const req = httpRequest(`${url}/graphql`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.on('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end(JSON.stringify(body));
  });
}

for (const db of databases) {
  describe(`draining on stop (${db})`, () => {
    const servers: LocalServer[] = [];
    const timers: NodeJS.Timeout[] = [];
    afterAll(async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const s of servers) await s.close();
    });

    it('answers a request in flight, refuses new ones, then stops', async () => {
      let arrived = 0;
      const specs = await startServer(async (_req, res) => {
        arrived++;
        await new Promise((r) => setTimeout(r, 1_000));
        json(res, 200, spec);
      });
      servers.push(specs);
      const t = await startOpsApp(db, { level: 'info' });
      const org = await createOrg(t, 'Drain');
      const inFlight = post(t.url, t.token, { query: ADD, variables: { o: org, u: `${specs.url}/slow.json` } });
      while (arrived === 0) await new Promise((r) => setTimeout(r, 10));

      const stopping = t.app.stop();
      await new Promise((r) => setTimeout(r, 100));
      const late = await post(t.url, t.token, { query: '{ viewer { id } }' });
      expect('error' in late ? late.error : late.status).toMatch(/ECONNREFUSED|503/);

      const answered = await inFlight;
      expect(answered).toMatchObject({ status: 200 });
      expect(JSON.parse((answered as { body: string }).body)).toMatchObject({ data: { addIntegration: { __typename: 'MutationAddIntegrationSuccess' } } });
      await stopping;
      expect(t.logs.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down: draining requests', 'stopped accepting; in-flight requests answered', 'shutdown complete']));
      await t.close();
    });

    it('cuts a request that outlives the drain period, so stop() still ends', async () => {
      let arrived = 0;
      const specs = await startServer(async (_req, res) => {
        arrived++;
        // Answers long after the drain period (the socket is gone by then).
        timers.push(setTimeout(() => res.destroyed || json(res, 200, spec), 20_000));
      });
      servers.push(specs);
      const t = await startOpsApp(db, { level: 'info', env: { OUTBOUND_TIMEOUT_MS: '30000' }, build: { drainTimeoutMs: 500 } });
      const org = await createOrg(t, 'Hung');
      const hung = post(t.url, t.token, { query: ADD, variables: { o: org, u: `${specs.url}/never.json` } });
      while (arrived === 0) await new Promise((r) => setTimeout(r, 10));
      await t.app.stop();
      expect(await hung).toMatchObject({ error: expect.stringMatching(/ECONNRESET|socket hang up/) });
      expect(t.logs.lines.some((l) => l.level === 40 && /still in flight after the drain period/.test(String(l.msg)))).toBe(true);
      await t.close();
    });
  });
}
