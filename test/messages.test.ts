import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './support/app.js';
import { json, serveJson, startServer, type LocalServer } from './support/http-server.js';
import { addIntegration, createChannel, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';
import { untilLive } from './support/live.js';
import { until } from './support/wait.js';

const Enable = graphql(`
  mutation MsgEnable($integrationId: ID!, $channelId: ID!, $position: Int) {
    enableIntegration(input: { integrationId: $integrationId, channelId: $channelId, position: $position }) {
      __typename
      ... on Error { message }
    }
  }
`);

const SetChannelSetting = graphql(`
  mutation MsgSetChannelSetting($integrationId: ID!, $channelId: ID!, $label: String!, $value: JSON) {
    setChannelIntegrationSetting(input: { integrationId: $integrationId, channelId: $channelId, label: $label, value: $value }) {
      __typename
      ... on Error { message }
    }
  }
`);

const Send = graphql(`
  mutation MsgSend($channelId: ID!, $message: String!) {
    sendMessage(input: { channelId: $channelId, message: $message }) {
      __typename
      ... on MutationSendMessageSuccess { data { id message username source userId modifiersApplied } }
      ... on Error { message }
      ... on ValidationError { field }
    }
  }
`);

const Messages = graphql(`
  query MsgList($channelId: ID!, $first: Int) {
    messages(channelId: $channelId, first: $first) { edges { node { id message modifiersApplied } } }
  }
`);

const ModifierHistory = graphql(`
  query MsgModifierHistory($id: ID!) {
    channel(id: $id) {
      deliveries(kind: "modifier", first: 50) { edges { node { kind targetId status statusCode error latencyMs attempt messageId } } }
    }
  }
`);

const SUBSCRIPTION = 'subscription($channelId: ID!, $after: String) { channelMessages(channelId: $channelId, after: $after) { id channelId message eventName username status createdAt } }';

export function spec(type: 'modifier' | 'output', targetUrl: string, name: string) {
  return {
    data: {
      descriptions: { app_name: name, app_description: `${type} for tests` },
      integration_type: type,
      is_active: true,
      settings: [
        { label: 'Provide Speed', type: 'number', required: true, default: '1000' },
        { label: 'Alert Admin', type: 'multi-checkbox', required: true, default: 'Admin', options: ['Admin', 'Manager'] },
      ],
      target_url: targetUrl,
    },
  };
}

interface Received {
  events: { id: string; message: string; channelId: string }[];
  errors: unknown[];
  completed: boolean;
}

/** A graphql-ws client over a real socket; resolves once the subscription is acknowledged by a first event or error. */
function wsClient(t: TestApp, token: string | null): Client {
  return createClient({
    url: `${t.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

function subscribe(client: Client, variables: Record<string, unknown>): Received & { stop(): void } {
  const r: Received & { stop(): void } = { events: [], errors: [], completed: false, stop: () => {} };
  r.stop = client.subscribe(
    { query: SUBSCRIPTION, variables },
    {
      next: (v) => {
        if (v.errors) r.errors.push(...v.errors);
        if (v.data) r.events.push((v.data as { channelMessages: Received['events'][number] }).channelMessages);
      },
      error: (e) => r.errors.push(e),
      complete: () => (r.completed = true),
    },
  );
  return r;
}

for (const db of databases) {
  describe(`messages: modifier chain and subscriptions (${db})`, () => {
    let t: TestApp;
    let orgId: string;
    let servers: LocalServer[] = [];
    const post = (channelId: string, message: string) =>
      fetch(`${t.url}/v1/webhooks/${channelId}?message=${encodeURIComponent(message)}&event_name=e&status=success&username=u`).then(async (r) => {
        if (r.status !== 202) throw new Error(`${r.status} ${await r.text()}`);
        return ((await r.json()) as { data: { id: string } }).data.id;
      });

    beforeAll(async () => {
      t = await startTestApp(db, { MODIFIER_BUDGET_MS: '300' });
      orgId = await createOrg(t, 'Messages');
    });
    afterAll(async () => {
      await t.close();
      await Promise.all(servers.map((s) => s.close()));
    });

    it('runs modifiers in channel order, skipping one that fails, one that is too slow and one that answers garbage', async () => {
      const seen: { name: string; body: Record<string, unknown> }[] = [];
      const modifiers = await startServer(async (req, res) => {
        const body = req.json as { message: string; settings: { label: string; default: unknown }[] };
        seen.push({ name: req.url, body: body as never });
        if (req.url === '/upper') return json(res, 200, { message: body.message.toUpperCase() });
        if (req.url === '/suffix') {
          const speed = body.settings.find((s) => s.label === 'Provide Speed')?.default;
          return json(res, 200, { message: `${body.message} [speed ${typeof speed} ${speed}]` });
        }
        if (req.url === '/slow') {
          await new Promise((r) => setTimeout(r, 1_000));
          return json(res, 200, { message: 'too late' });
        }
        if (req.url === '/garbage') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          return void res.end('not json at all');
        }
        json(res, 500, { error: 'boom' });
      });
      servers.push(modifiers);
      const names = ['upper', 'broken', 'slow', 'garbage', 'suffix'];
      const specs = await serveJson(Object.fromEntries(names.map((n) => [`/${n}.json`, spec('modifier', `${modifiers.url}/${n === 'broken' ? 'fail' : n}`, n)])));
      servers.push(specs);
      const channel = await createChannel(t, orgId, 'chain');
      const ids: Record<string, string> = {};
      // Enabled out of order; positions decide the chain.
      for (const [i, n] of [...names.entries()].reverse()) {
        ids[n] = await addIntegration(t, orgId, `${specs.url}/${n}.json`);
        const r = await t.gql(Enable, { integrationId: ids[n], channelId: channel.id, position: i });
        expect(r.enableIntegration.__typename).toBe('MutationEnableIntegrationSuccess');
      }
      await t.gql(SetChannelSetting, { integrationId: ids.suffix, channelId: channel.id, label: 'Provide Speed', value: 42 });

      const id = await post(channel.id, 'hello');
      const [stored] = (await t.gql(Messages, { channelId: channel.id })).messages.edges.map((e) => e.node);
      // The spec's default for "Provide Speed" is the text "1000", so the value set as 42 goes out as "42".
      expect(stored).toEqual({ id, message: 'HELLO [speed string 42]', modifiersApplied: [ids.upper, ids.suffix] });
      expect(seen.map((s) => s.name)).toEqual(['/upper', '/fail', '/slow', '/garbage', '/suffix']);
      expect(seen[0].body).toMatchObject({ message: 'hello', channel_id: channel.id, org_id: orgId });
      expect(seen[1].body.message).toBe('HELLO');
      // Settings go out as the spec wrote them (Telex does not parse them): text "1000", text "Admin".
      expect(seen[0].body.settings).toEqual([
        { label: 'Provide Speed', type: 'number', required: true, default: '1000' },
        { label: 'Alert Admin', type: 'multi-checkbox', required: true, default: 'Admin', options: ['Admin', 'Manager'] },
      ]);

      const history = (await t.gql(ModifierHistory, { id: channel.id })).channel!.deliveries.edges.map((e) => e.node);
      const byTarget = Object.fromEntries(history.map((d) => [d.targetId, d]));
      expect(history).toHaveLength(5);
      expect(byTarget[ids.upper]).toMatchObject({ status: 'succeeded', statusCode: 200, error: null, messageId: id, attempt: 1 });
      expect(byTarget[ids.broken]).toMatchObject({ status: 'failed', statusCode: 500 });
      expect(byTarget[ids.slow]).toMatchObject({ status: 'failed', statusCode: null, error: expect.stringMatching(/did not answer in time/) });
      expect(byTarget[ids.garbage]).toMatchObject({ status: 'failed', statusCode: 200, error: expect.stringMatching(/not JSON/) });
      expect(byTarget[ids.slow].latencyMs).toBeLessThan(1_000);
    });

    it("skips a modifier whose rewrite could not be stored (a NUL, a lone surrogate, too long) and stores the message", async () => {
      const answers: Record<string, string> = {
        // Written by hand: JSON.stringify would escape the lone surrogate the same way, but say it plainly.
        '/nul': '{"message":"a\\u0000b"}',
        '/surrogate': '{"message":"half \\ud800 a pair"}',
        '/long': JSON.stringify({ message: 'x'.repeat(65_537) }),
        '/fine': '{"message":"rewritten"}',
      };
      const modifiers = await startServer(async (req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(answers[req.url]);
      });
      servers.push(modifiers);
      const names = ['nul', 'surrogate', 'long', 'fine'];
      const specs = await serveJson(Object.fromEntries(names.map((n) => [`/${n}.json`, spec('modifier', `${modifiers.url}/${n}`, n)])));
      servers.push(specs);
      const channel = await createChannel(t, orgId, 'unstorable rewrites');
      const ids: Record<string, string> = {};
      for (const [i, n] of names.entries()) {
        ids[n] = await addIntegration(t, orgId, `${specs.url}/${n}.json`);
        await t.gql(Enable, { integrationId: ids[n], channelId: channel.id, position: i });
      }
      const id = await post(channel.id, 'original');
      const [stored] = (await t.gql(Messages, { channelId: channel.id })).messages.edges.map((e) => e.node);
      expect(stored).toEqual({ id, message: 'rewritten', modifiersApplied: [ids.fine] });
      const history = (await t.gql(ModifierHistory, { id: channel.id })).channel!.deliveries.edges.map((e) => e.node);
      const byTarget = Object.fromEntries(history.map((d) => [d.targetId, d]));
      expect(byTarget[ids.nul]).toMatchObject({ status: 'failed', statusCode: 200, error: expect.stringMatching(/NUL byte.*skipped/) });
      expect(byTarget[ids.surrogate]).toMatchObject({ status: 'failed', statusCode: 200, error: expect.stringMatching(/lone surrogate.*skipped/) });
      expect(byTarget[ids.long]).toMatchObject({ status: 'failed', statusCode: 200, error: expect.stringMatching(/longer than 65536 characters: skipped/) });
      expect(byTarget[ids.fine]).toMatchObject({ status: 'succeeded' });
    });

    it('sendMessage posts as the viewer and refuses channels of other organisations', async () => {
      const channel = await createChannel(t, orgId, 'chat');
      const r = await t.gql(Send, { channelId: channel.id, message: 'from the admin' });
      expect(r.sendMessage).toMatchObject({ __typename: 'MutationSendMessageSuccess', data: { message: 'from the admin', source: 'user', modifiersApplied: [] } });
      const outsider = await createUser(t, 'outsider-send');
      const refused = await t.gql(Send, { channelId: channel.id, message: 'hi' }, outsider.token);
      expect(refused.sendMessage).toMatchObject({ __typename: 'NotFoundError' });
      const empty = await t.gql(Send, { channelId: channel.id, message: '' });
      expect(empty.sendMessage).toMatchObject({ __typename: 'ValidationError', field: 'message' });
    });

    it('streams live messages over graphql-ws, authenticated in connection_init, and refuses other organisations', async () => {
      const channel = await createChannel(t, orgId, 'live');
      const client = wsClient(t, t.token);
      const outsider = await createUser(t, 'outsider-ws');
      const outsiderClient = wsClient(t, outsider.token);
      const anonymous = wsClient(t, null);
      try {
        const sub = subscribe(client, { channelId: channel.id });
        const refused = subscribe(outsiderClient, { channelId: channel.id });
        const anon = subscribe(anonymous, { channelId: channel.id });
        await until(() => refused.errors.length > 0 && anon.errors.length > 0);
        expect(JSON.stringify(refused.errors)).toMatch(/NOT_FOUND/);
        // A socket without a token is closed at connection_init with 4403 Forbidden.
        expect((anon.errors[0] as { code?: number }).code).toBe(4403);
        // The subscription is live once a message posted now arrives.
        const first = await post(channel.id, 'ping');
        await until(() => sub.events.length === 1);
        const more = [await post(channel.id, 'one'), await post(channel.id, 'two')];
        await until(() => sub.events.length === 3);
        expect(sub.events.map((e) => e.id)).toEqual([first, ...more]);
        expect(sub.events[1]).toMatchObject({ channelId: channel.id, message: 'one' });
        expect(refused.events).toEqual([]);
        sub.stop();
      } finally {
        await Promise.all([client.dispose(), outsiderClient.dispose(), anonymous.dispose()]);
      }
    });

    it('replays history after a cursor and continues live with no gap and no duplicate at the seam', async () => {
      const channel = await createChannel(t, orgId, 'resume');
      const history: string[] = [];
      for (let i = 0; i < 20; i++) history.push(await post(channel.id, `h${i}`));
      const after = history[4];
      const client = wsClient(t, t.token);
      try {
        // Messages keep arriving while the subscription starts and replays.
        const burst = (async () => {
          const ids: string[] = [];
          for (let i = 0; i < 40; i++) ids.push(...(await Promise.all([post(channel.id, `b${i}a`), post(channel.id, `b${i}b`)])));
          return ids;
        })();
        const sub = subscribe(client, { channelId: channel.id, after });
        const burstIds = await burst;
        const expected = [...history.slice(5), ...burstIds].sort();
        await until(() => sub.events.length >= expected.length);
        await new Promise((r) => setTimeout(r, 200));
        const got = sub.events.map((e) => e.id);
        expect(new Set(got).size).toBe(got.length);
        expect([...got].sort()).toEqual(expected);
        expect(got.slice(0, 15)).toEqual(history.slice(5));
        sub.stop();

        const bad = subscribe(client, { channelId: channel.id, after: 'not-a-cursor' });
        await until(() => bad.errors.length > 0);
        expect(JSON.stringify(bad.errors)).toMatch(/after is not a message id/);
      } finally {
        await client.dispose();
      }
    });

    it('stores messages committed together, across channels, exactly as sent and numbered with no hole in each channel', async () => {
      const channels = await Promise.all(['batch-a', 'batch-b', 'batch-c'].map((name) => createChannel(t, orgId, name)));
      // What array literals, JSON and SQL quoting each treat specially, in the text, the other columns and the stored body.
      const tricky = (i: number) => `m${i} "quoted" \\back\\slash {braces}, commas; 'single' NULL ünï 🎉\nline`;
      const sent = channels.flatMap((c, ci) => Array.from({ length: 12 }, (_, i) => ({ channel: c.id, i: ci * 100 + i })));
      // The numbers each message was published with are the ones stored.
      const client = wsClient(t, t.token);
      const live: { id: string; seq: number }[] = [];
      const stop = client.subscribe<{ channelMessages: { id: string; seq: number } }>(
        { query: 'subscription($c: ID!) { channelMessages(channelId: $c) { id seq } }', variables: { c: channels[0].id } },
        { next: (r) => void live.push(r.data!.channelMessages), error: () => {}, complete: () => {} },
      );
      await untilLive(`${t.url}/v1/webhooks/${channels[0].id}`, () => live.length > 0);
      const before = Date.now();
      const ids = await Promise.all(
        sent.map(({ channel, i }) =>
          fetch(`${t.url}/v1/webhooks/${channel}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ event_name: '{x}', username: 'NULL', status: '"ok"', message: tricky(i), extra: { nested: tricky(-i), list: [1, null, '}{'] } }),
          }).then(async (r) => {
            expect(r.status).toBe(202);
            return ((await r.json()) as { data: { id: string } }).data.id;
          }),
        ),
      );
      const after = Date.now();
      for (const [ci, c] of channels.entries()) {
        const read = await t.gqlData<{ messages: { edges: { node: { id: string; seq: number; message: string; username: string; status: string; eventName: string; createdAt: string } }[] } }>(
          'query($c: ID!) { messages(channelId: $c, first: 100) { edges { node { id seq message username status eventName createdAt } } } }',
          { c: c.id },
        );
        const all = read.messages.edges.map((e) => e.node);
        // The live check's probes came first on the first channel.
        const nodes = all.filter((n) => n.message !== 'probe');
        for (const n of nodes) expect(Date.parse(n.createdAt)).toBeGreaterThanOrEqual(before);
        for (const n of nodes) expect(Date.parse(n.createdAt)).toBeLessThanOrEqual(after);
        expect(all.map((n) => n.seq)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
        expect(nodes).toHaveLength(12);
        if (ci === 0) {
          const posted = new Set(ids);
          const heard = () => live.filter((e) => posted.has(e.id));
          await until(() => heard().length === 12);
          expect(heard()).toEqual(nodes.map((n) => ({ id: n.id, seq: n.seq })));
          stop();
          await client.dispose();
        }
        expect(new Set(nodes.map((n) => n.message))).toEqual(new Set(Array.from({ length: 12 }, (_, i) => tricky(ci * 100 + i))));
        expect(nodes.every((n) => n.username === 'NULL' && n.status === '"ok"' && n.eventName === '{x}')).toBe(true);
      }
      // The stored bodies, as JSON.
      const stored = (await t.app.orm.em.fork().getConnection().execute(`select id, payload from messages where id in (${ids.map(() => '?').join(', ')})`, ids)) as {
        id: string;
        payload: unknown;
      }[];
      const payloads = new Map(stored.map((r) => [r.id, (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as { message: string; extra: unknown }]));
      sent.forEach(({ i }, k) => {
        expect(payloads.get(ids[k])).toMatchObject({ message: tricky(i), extra: { nested: tricky(-i), list: [1, null, '}{'] } });
      });
    });

    it('stores the time a message was posted to the millisecond, as its answer gives it', async () => {
      const channel = await createChannel(t, orgId, 'timed');
      const answered: Record<string, string> = {};
      for (let i = 0; i < 5; i++) {
        const sent = await t.gqlData<{ sendMessage: { data: { id: string; createdAt: string } } }>(
          'mutation($c: ID!, $m: String!) { sendMessage(input: { channelId: $c, message: $m }) { ... on MutationSendMessageSuccess { data { id createdAt } } } }',
          { c: channel.id, m: `timed ${i}` },
        );
        answered[sent.sendMessage.data.id] = sent.sendMessage.data.createdAt;
      }
      const read = await t.gqlData<{ messages: { edges: { node: { id: string; createdAt: string } }[] } }>(
        'query($c: ID!) { messages(channelId: $c) { edges { node { id createdAt } } } }',
        { c: channel.id },
      );
      expect(Object.fromEntries(read.messages.edges.map((e) => [e.node.id, e.node.createdAt]))).toEqual(answered);
      expect(Object.values(answered).every((at) => /\.\d{3}Z$/.test(at))).toBe(true);
    });

    it('streams over SSE', async () => {
      const channel = await createChannel(t, orgId, 'sse');
      const cursor = await post(channel.id, 'already seen');
      const earlier = await post(channel.id, 'before');
      const controller = new AbortController();
      const res = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${t.token}` },
        body: JSON.stringify({ query: SUBSCRIPTION, variables: { channelId: channel.id, after: cursor } }),
        signal: controller.signal,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      const events: { id: string; message: string }[] = [];
      const read = (async () => {
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            text += decoder.decode(value, { stream: true });
            let cut: number;
            while ((cut = text.indexOf('\n\n')) >= 0) {
              const block = text.slice(0, cut);
              text = text.slice(cut + 2);
              const data = block.split('\n').find((l) => l.startsWith('data:'));
              if (data && block.includes('event: next')) events.push(JSON.parse(data.slice(5)).data.channelMessages);
            }
          }
        } catch {
          // aborted
        }
      })();
      await until(() => events.length === 1);
      expect(events[0]).toMatchObject({ id: earlier, message: 'before' });
      const live = await post(channel.id, 'over sse');
      await until(() => events.length === 2);
      expect(events[1]).toMatchObject({ id: live, message: 'over sse' });
      controller.abort();
      await read;
      // The stream ends on the server too: its listener is gone once the client goes away.
      const active = async () => /switchboard_active_subscriptions\{transport="sse"[^}]*\} 0/.test(await (await fetch(`${t.url}/metrics`)).text());
      const start = Date.now();
      while (!(await active())) {
        if (Date.now() - start > 5_000) throw new Error('the SSE subscription is still running after the client left');
        await new Promise((r) => setTimeout(r, 50));
      }
    });
  });
}
