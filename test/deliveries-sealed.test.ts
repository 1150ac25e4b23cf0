/**
 * Delivery request bodies are sealed at rest (SWITCHBOARD_SECRET_KEY): a Rocket.Chat outgoing webhook's
 * payload carries its token, and it must never sit in the database in clear, while retries still send it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './support/app.js';
import { json, startServer, type LocalServer } from './support/http-server.js';
import { createChannel, createOrg } from './support/seed.js';
import { databases } from './support/services.js';
import { until } from './support/wait.js';

const TOKEN = 'outgoing-secret-sealed-0123456789';

for (const db of databases) {
  describe(`delivery bodies sealed at rest (${db})`, () => {
    let t: TestApp;
    let server: LocalServer;
    beforeAll(async () => {
      t = await startTestApp(db);
    });
    afterAll(async () => {
      await t?.close();
      await server?.close();
    });

    it('stores a Rocket.Chat outgoing payload without its token in clear, and the retry still sends the token', async () => {
      let calls = 0;
      server = await startServer((_req, res) => json(res, ++calls === 1 ? 500 : 200, {}));
      const orgId = await createOrg(t, 'Sealed');
      const channel = await createChannel(t, orgId, 'general');
      const userId = ((await t.gqlRaw('{ viewer { id } }')).data as { viewer: { id: string } }).viewer.id;
      const created = await fetch(`${t.url}/api/v1/integrations.create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-auth-token': ADMIN_TOKEN, 'x-user-id': userId, 'x-organisation-id': orgId },
        body: JSON.stringify({ type: 'webhook-outgoing', username: 'bot', channel: '#general', scriptEnabled: false, name: 'sealed', enabled: true, event: 'sendMessage', urls: [`${server.url}/hook`], token: TOKEN, retryCount: 2, retryDelay: 'powers-of-ten' }),
      });
      expect(created.status).toBe(200);

      const sent = await t.gqlRaw('mutation($c: ID!) { sendMessage(input: { channelId: $c, message: "carry the token" }) { __typename } }', { c: channel.id });
      expect(sent.data).toMatchObject({ sendMessage: { __typename: 'MutationSendMessageSuccess' } });
      // The first call fails (500); the retry, built from the stored row, succeeds.
      await until(() => server.requests.length === 2 && calls === 2, 10_000, 'the retry');
      expect(server.requests.map((r) => (r.json as { token?: string }).token)).toEqual([TOKEN, TOKEN]);
      expect((server.requests[1].json as { text: string }).text).toBe('carry the token');

      const rows = await until(async () => {
        const r = (await t.app.orm.em.getConnection().execute('select * from deliveries where kind = ? order by attempt', ['rocketchat-outgoing'])) as { status: string; body: unknown }[];
        return r.length === 2 && r[1].status === 'succeeded' ? r : undefined;
      }, 10_000, 'both attempts recorded');
      expect(rows.map((r) => r.status)).toEqual(['retried', 'succeeded']);
      // Nowhere in the rows (bodies, headers, answers) is the token in clear; the bodies are sealed.
      const everything = JSON.stringify(await t.app.orm.em.getConnection().execute('select * from deliveries'));
      expect(everything).not.toContain(TOKEN);
      expect(everything).not.toContain('carry the token');
      for (const row of rows) {
        const body = typeof row.body === 'string' ? JSON.parse(row.body) : row.body;
        expect(body).toEqual({ sealedBody: expect.stringMatching(/^v1\./) });
      }
      // The history stays readable in GraphQL (and shows no request body).
      const history = await t.gqlRaw('query($id: ID!) { channel(id: $id) { deliveries(kind: "rocketchat-outgoing") { edges { node { attempt status statusCode url } } } } }', { id: channel.id });
      expect(history.data).toMatchObject({ channel: { deliveries: { edges: [{ node: { attempt: 2, status: 'succeeded', statusCode: 200, url: `${server.url}/hook` } }, { node: { attempt: 1, status: 'retried', statusCode: 500 } }] } } });
      expect(JSON.stringify(history)).not.toContain(TOKEN);
    });
  });
}
