import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { graphql } from './gql/index.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './support/app.js';
import { json, startServer, type LocalServer } from './support/http-server.js';
import { addMember, createChannel, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';
import { until } from './support/wait.js';

const ViewerId = graphql(`query RcViewerId { viewer { id } }`);

const ChannelMessages = graphql(`
  query RcMessages($channelId: ID!) {
    messages(channelId: $channelId, first: 100) { edges { node { id message username source userId eventName } } }
  }
`);

const Deliveries = graphql(`
  query RcDeliveries($channelId: ID!) {
    channel(id: $channelId) { deliveries(first: 100, kind: "rocketchat-outgoing") { edges { node { id targetId url attempt status statusCode createdAt updatedAt } } } }
  }
`);

const DropChannel = graphql(`
  mutation RcDropChannel($id: ID!) { deleteChannel(input: { id: $id }) { __typename } }
`);

const Send = graphql(`
  mutation RcSend($channelId: ID!, $message: String!) {
    sendMessage(input: { channelId: $channelId, message: $message }) { __typename ... on MutationSendMessageSuccess { data { id } } ... on Error { message } }
  }
`);

const UNAUTHORIZED = { status: 'error', message: 'You must be logged in to do this.' };

interface Answer {
  status: number;
  body: any;
}

async function call(t: TestApp, method: string, path: string, body: unknown, auth: { token?: string; userId?: string; org?: string } | null): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (auth?.token) headers['x-auth-token'] = auth.token;
  if (auth?.userId) headers['x-user-id'] = auth.userId;
  if (auth?.org) headers['x-organisation-id'] = auth.org;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${t.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

async function messagesOf(t: TestApp, channelId: string) {
  const r = await t.gql(ChannelMessages, { channelId });
  return r.messages.edges.map((e) => e.node);
}

function subscribe(t: TestApp, channelId: string) {
  const received: { message: string; username: string; source: string }[] = [];
  const client: Client = createClient({ url: t.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` }, lazy: false });
  let ready!: () => void;
  const started = new Promise<void>((r) => (ready = r));
  const dispose = client.subscribe<{ channelMessages: { message: string; username: string; source: string } }>(
    { query: 'subscription($id: ID!) { channelMessages(channelId: $id) { message username source } }', variables: { id: channelId } },
    { next: (v) => v.data && received.push(v.data.channelMessages), error: () => undefined, complete: () => undefined },
  );
  client.on('connected', () => setTimeout(ready, 150));
  return {
    received,
    started,
    async close() {
      dispose();
      await client.dispose();
    },
  };
}

for (const db of databases) {
  describe(`Rocket.Chat integrations (${db})`, () => {
    let t: TestApp;
    let admin: { token: string; userId: string; org?: string };
    let orgId: string;
    let general: { id: string };
    let random: { id: string };

    beforeAll(async () => {
      t = await startTestApp(db);
      orgId = await createOrg(t, 'Rocket');
      // The admin belongs to several organisations here, so it names the one its #channels are in.
      admin = { token: ADMIN_TOKEN, userId: (await t.gql(ViewerId)).viewer!.id, org: orgId };
      general = await createChannel(t, orgId, 'general');
      random = await createChannel(t, orgId, 'random');
    });
    afterAll(() => t.close());

    it('creates the documented incoming and outgoing examples and answers their documented shapes', async () => {
      // A separate organisation so the documented (public) outgoing URL is never called by other tests.
      const docOrg = await createOrg(t, 'Docs');
      await createChannel(t, docOrg, 'general');
      const auth = { ...admin, org: docOrg };
      const ambiguous = await call(t, 'POST', '/api/v1/integrations.create', { type: 'webhook-incoming', username: 'x', channel: '#general', scriptEnabled: false, name: 'x', enabled: true }, { ...admin, org: undefined });
      expect(ambiguous.body).toMatchObject({ success: false, errorType: 'error-invalid-channel', error: expect.stringMatching(/X-Organisation-Id/) });
      const incoming = await call(t, 'POST', '/api/v1/integrations.create', { type: 'webhook-incoming', username: 'test.cat', channel: '#general', scriptEnabled: true, name: 'test.cat', enabled: true }, auth);
      expect(incoming.status).toBe(200);
      expect(incoming.body).toEqual({
        integration: {
          type: 'webhook-incoming',
          username: 'test.cat',
          channel: ['#general'],
          scriptEnabled: true,
          name: 'test.cat',
          enabled: true,
          scriptEngine: 'isolated-vm',
          overrideDestinationChannelEnabled: false,
          token: expect.stringMatching(/^[A-Za-z0-9_-]{48}$/),
          userId: admin.userId,
          _createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          _createdBy: { _id: admin.userId, username: 'admin' },
          _updatedAt: expect.any(String),
          _id: expect.any(String),
        },
        success: true,
      });
      const outgoing = await call(
        t,
        'POST',
        '/api/v1/integrations.create',
        { type: 'webhook-outgoing', username: 'test.cat', channel: '#general', scriptEnabled: true, name: 'test.cat', enabled: true, event: 'sendMessage', urls: ['https://text2gif.guggy.com/guggify'] },
        auth,
      );
      expect(outgoing.status).toBe(200);
      expect(outgoing.body.integration).toMatchObject({
        type: 'webhook-outgoing',
        username: 'test.cat',
        channel: ['#general'],
        scriptEnabled: true,
        name: 'test.cat',
        enabled: true,
        event: 'sendMessage',
        urls: ['https://text2gif.guggy.com/guggify'],
        scriptEngine: 'isolated-vm',
        userId: admin.userId,
        _createdBy: { _id: admin.userId, username: 'admin' },
      });
      expect(outgoing.body.integration.token).toBeUndefined();
      const removed = await call(t, 'POST', '/api/v1/integrations.remove', { type: 'webhook-outgoing', integrationId: outgoing.body.integration._id }, admin);
      expect(removed).toMatchObject({ status: 200, body: { success: true, integration: { _id: outgoing.body.integration._id } } });
    });

    it('answers the documented 400 bodies for missing fields and names wrong ones', async () => {
      const noType = await call(t, 'POST', '/api/v1/integrations.create', { username: 'test.cat', channel: '#general', scriptEnabled: true, name: 'test.cat', enabled: true }, admin);
      expect(noType).toEqual({
        status: 400,
        body: { success: false, error: "must have required property 'type'\n must have required property 'type'\n must match exactly one schema in oneOf [invalid-params]", errorType: 'invalid-params' },
      });
      const noUsername = await call(t, 'POST', '/api/v1/integrations.create', { type: 'webhook-incoming', channel: '#general', scriptEnabled: true, name: 'test.cat', enabled: true }, admin);
      expect(noUsername).toEqual({
        status: 400,
        body: { success: false, error: "must have required property 'username'\n must have required property 'username'\n must match exactly one schema in oneOf [invalid-params]", errorType: 'invalid-params' },
      });
      const base = { type: 'webhook-outgoing', username: 'bot', channel: '#general', scriptEnabled: false, name: 'x', enabled: true, event: 'sendMessage', urls: ['http://127.0.0.1:1/'] };
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ ...base, urls: undefined }, /must have required property 'urls'/],
        [{ ...base, event: undefined }, /must have required property 'event'/],
        [{ ...base, event: 'messageDeleted' }, /^\/event must be equal to one of the allowed values/],
        [{ ...base, enabled: 'yes' }, /^\/enabled must be boolean/],
        [{ ...base, scriptEnabled: 1 }, /^\/scriptEnabled must be boolean/],
        [{ ...base, urls: 'http://x' }, /^\/urls must be array/],
        [{ ...base, urls: ['ftp://x'] }, /^\/urls\/0 must be a valid http or https URL/],
        [{ ...base, retryDelay: 'sometimes' }, /^\/retryDelay must be equal to one of/],
        [{ ...base, retryCount: -1 }, /^\/retryCount must be an integer/],
        [{ ...base, type: 'webhook-sideways' }, /^\/type must be equal to one of the allowed values/],
      ];
      for (const [body, error] of cases) {
        const r = await call(t, 'POST', '/api/v1/integrations.create', body, admin);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body).toMatchObject({ success: false, errorType: 'invalid-params' });
        expect(r.body.error).toMatch(error);
      }
      const noChannel = await call(t, 'POST', '/api/v1/integrations.create', { ...base, channel: '#nope' }, admin);
      expect(noChannel).toEqual({ status: 400, body: { success: false, error: 'Invalid Channel "#nope" [error-invalid-channel]', errorType: 'error-invalid-channel' } });
      const malformed = await fetch(`${t.url}/api/v1/integrations.create`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-auth-token': admin.token, 'x-user-id': admin.userId }, body: '{"type": ' });
      expect(malformed.status).toBe(400);
      expect(await malformed.json()).toEqual({ success: false, error: 'request body is not valid JSON', errorType: 'invalid-params' });
      const notObject = await call(t, 'POST', '/api/v1/integrations.create', [1, 2], admin);
      expect(notObject).toEqual({ status: 400, body: { success: false, error: 'must be object [invalid-params]', errorType: 'invalid-params' } });
      const dm = await call(t, 'POST', '/api/v1/integrations.create', { ...base, channel: '@someone' }, admin);
      expect(dm.body).toMatchObject({ success: false, errorType: 'error-invalid-channel' });
    });

    it('answers the documented 401 for missing, unknown or mismatched credentials', async () => {
      const body = { type: 'webhook-incoming', username: 'x', channel: '#general', scriptEnabled: false, name: 'x', enabled: true };
      for (const auth of [null, { token: ADMIN_TOKEN }, { userId: admin.userId }, { token: 'sb_unknown', userId: admin.userId }, { token: ADMIN_TOKEN, userId: 'aobEdbYhXfu5hkeqG' }]) {
        const r = await call(t, 'POST', '/api/v1/integrations.create', body, auth);
        expect(r).toEqual({ status: 401, body: UNAUTHORIZED });
      }
      expect(await call(t, 'GET', '/api/v1/integrations.list', undefined, null)).toEqual({ status: 401, body: UNAUTHORIZED });
    });

    it('refuses a script with a syntax error at create and update, with the error', async () => {
      const bad = await call(t, 'POST', '/api/v1/integrations.create', { type: 'webhook-incoming', username: 'x', channel: '#general', scriptEnabled: true, script: 'class Script { process_incoming_request( {', name: 'x', enabled: true }, admin);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatch(/^SyntaxError: /);
      const ok = await call(t, 'POST', '/api/v1/integrations.create', { type: 'webhook-incoming', username: 'x', channel: '#general', scriptEnabled: false, name: 'x', enabled: true }, admin);
      const upd = await call(t, 'PUT', '/api/v1/integrations.update', { type: 'webhook-incoming', integrationId: ok.body.integration._id, script: 'class Script {', scriptEnabled: true }, admin);
      expect(upd.status).toBe(400);
      expect(upd.body.error).toMatch(/SyntaxError/);
      const still = await call(t, 'GET', `/api/v1/integrations.get?integrationId=${ok.body.integration._id}`, undefined, admin);
      expect(still.body.integration.scriptEnabled).toBe(false);
      expect(still.body.integration.script).toBeUndefined();
    });

    it('lists, gets, updates and removes, with roles mapped to permissions and other organisations hidden', async () => {
      const member = await createUser(t, 'rc-member');
      await addMember(t, orgId, member.id, 'MEMBER');
      const memberAuth = { token: member.token, userId: member.id };
      const outsider = await createUser(t, 'rc-outsider');
      await createOrg(t, 'Outsiders', outsider.token);
      const outsiderAuth = { token: outsider.token, userId: outsider.id };

      const byAdmin = await call(t, 'POST', '/api/v1/integrations.create', { type: 'webhook-incoming', username: 'adm', channel: '#general', scriptEnabled: false, name: 'by-admin', enabled: true }, { ...admin, org: orgId });
      const own = await call(t, 'POST', '/api/v1/integrations.create', { type: 'webhook-incoming', username: 'mem', channel: '#random', scriptEnabled: false, name: 'by-member', enabled: true }, memberAuth);
      expect(own.status).toBe(200);

      const memberList = await call(t, 'GET', '/api/v1/integrations.list', undefined, memberAuth);
      expect(memberList.body).toMatchObject({ success: true, offset: 0, items: 1, total: 1 });
      expect(memberList.body.integrations[0].name).toBe('by-member');
      const adminList = await call(t, 'GET', '/api/v1/integrations.list?count=100&name=by-', undefined, admin);
      expect(adminList.body.integrations.map((i: { name: string }) => i.name).sort()).toEqual(['by-admin', 'by-member']);

      // A member holds only manage-own-*: the admin's integration is visible to them as forbidden, not to outsiders at all.
      const forbidden = await call(t, 'GET', `/api/v1/integrations.get?integrationId=${byAdmin.body.integration._id}`, undefined, memberAuth);
      expect(forbidden).toEqual({ status: 403, body: { success: false, error: 'User does not have the permissions required for this action [error-unauthorized]' } });
      const hidden = await call(t, 'GET', `/api/v1/integrations.get?integrationId=${byAdmin.body.integration._id}`, undefined, outsiderAuth);
      expect(hidden.status).toBe(404);
      expect(hidden.body.success).toBe(false);
      expect((await call(t, 'POST', '/api/v1/integrations.remove', { type: 'webhook-incoming', integrationId: byAdmin.body.integration._id }, outsiderAuth)).status).toBe(404);
      expect((await call(t, 'GET', '/api/v1/integrations.list', undefined, outsiderAuth)).body).toMatchObject({ integrations: [], total: 0 });
      const missingId = await call(t, 'GET', '/api/v1/integrations.get', undefined, admin);
      expect(missingId.body).toMatchObject({ success: false, errorType: 'invalid-params' });
      expect(missingId.body.error).toMatch(/integrationId/);

      const updated = await call(t, 'PUT', '/api/v1/integrations.update', { type: 'webhook-incoming', integrationId: own.body.integration._id, name: 'renamed', channel: '#general,#random', alias: 'Bot' }, memberAuth);
      expect(updated.body).toMatchObject({ success: true, integration: { name: 'renamed', channel: ['#general', '#random'], alias: 'Bot', _updatedBy: { _id: member.id, username: 'rc-member' } } });
      const badChannel = await call(t, 'PUT', '/api/v1/integrations.update', { type: 'webhook-incoming', integrationId: own.body.integration._id, channel: '#nope' }, memberAuth);
      expect(badChannel.body.errorType).toBe('error-invalid-channel');
      const wrongType = await call(t, 'POST', '/api/v1/integrations.remove', { type: 'webhook-outgoing', integrationId: own.body.integration._id }, memberAuth);
      expect(wrongType.status).toBe(404);
      const removed = await call(t, 'POST', '/api/v1/integrations.remove', { type: 'webhook-incoming', integrationId: own.body.integration._id }, memberAuth);
      expect(removed.body).toMatchObject({ success: true, integration: { _id: own.body.integration._id, name: 'renamed' } });
      expect((await call(t, 'GET', `/api/v1/integrations.get?integrationId=${own.body.integration._id}`, undefined, memberAuth)).status).toBe(404);
      await call(t, 'POST', '/api/v1/integrations.remove', { type: 'webhook-incoming', integrationId: byAdmin.body.integration._id }, admin);
    });

    it('posts incoming hook messages (JSON, form payload, GET) through the message path, live to subscribers', async () => {
      const created = await call(t, 'POST', '/api/v1/integrations.create', { type: 'webhook-incoming', username: 'rocket.bot', channel: '#general', scriptEnabled: false, name: 'in', enabled: true, emoji: ':ghost:' }, admin);
      const { _id: id, token } = created.body.integration;
      const sub = subscribe(t, general.id);
      await sub.started;
      try {
        const res = await fetch(`${t.url}/hooks/${id}/${token}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text: 'Example message', alias: 'Ghost', emoji: ':smirk:', avatar: 'http://res.guggy.com/logo_128.png', attachments: [{ title: 'Rocket.Chat', title_link: 'https://rocket.chat', text: 'Rocket.Chat, the best open source chat', color: '#764FA5' }] }),
        });
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ success: true });
        const form = await fetch(`${t.url}/hooks/${id}/${token}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ payload: JSON.stringify({ text: 'from a form' }) }).toString(),
        });
        expect(await form.json()).toEqual({ success: true });
        const get = await fetch(`${t.url}/hooks/${id}/${token}?text=${encodeURIComponent('from a GET')}`);
        expect(await get.json()).toEqual({ success: true });
        const attachmentsOnly = await fetch(`${t.url}/hooks/${id}/${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ attachments: [{ title: 'only a title' }] }) });
        expect(attachmentsOnly.status).toBe(200);

        await until(() => sub.received.length >= 4, 10_000, 'four live messages');
        // An attachments-only message keeps empty text beside its attachments, as in Rocket.Chat.
        expect(sub.received.map((m) => m.message)).toEqual(['Example message', 'from a form', 'from a GET', '']);
        expect(sub.received[0]).toEqual({ message: 'Example message', username: 'rocket.bot', source: 'rocketchat-incoming' });
        const stored = await messagesOf(t, general.id);
        expect(stored.filter((m) => m.source === 'rocketchat-incoming').map((m) => m.message)).toEqual(['Example message', 'from a form', 'from a GET', '']);
        expect(stored[0].userId).toBe(`integration:${id}`);
      } finally {
        await sub.close();
      }

      const before = (await messagesOf(t, general.id)).length;
      const empty = await fetch(`${t.url}/hooks/${id}/${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(empty.status).toBe(400);
      const wrong = await fetch(`${t.url}/hooks/${id}/${token}x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'nope' }) });
      expect(wrong.status).toBe(404);
      expect(await wrong.json()).toEqual({ success: false, error: 'Invalid integration id or token provided.' });
      expect((await fetch(`${t.url}/hooks/not-an-id/${token}`, { method: 'POST' })).status).toBe(404);
      await call(t, 'PUT', '/api/v1/integrations.update', { type: 'webhook-incoming', integrationId: id, enabled: false }, admin);
      const disabled = await fetch(`${t.url}/hooks/${id}/${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'nope' }) });
      expect(disabled.status).toBe(503);
      expect((await messagesOf(t, general.id)).length).toBe(before);

      const history = await call(t, 'GET', `/api/v1/integrations.history?id=${id}`, undefined, admin);
      // Plain calls that succeed leave no history; the refused one does.
      expect(history.body).toMatchObject({ success: true, offset: 0, total: 1 });
      expect(history.body.history[0]).toMatchObject({ type: 'incoming-webhook', step: 'invalid-message', error: true, finished: true, integration: { _id: id } });
    });

    it('posts to every channel of the organisation for all_public_channels, following channel creation and deletion at once', async () => {
      const fanOrg = await createOrg(t, 'Fanout');
      const a = await createChannel(t, fanOrg, 'a');
      const b = await createChannel(t, fanOrg, 'b');
      const created = await call(t, 'POST', '/api/v1/integrations.create', { type: 'webhook-incoming', username: 'fan', channel: 'all_public_channels', scriptEnabled: false, name: 'fan', enabled: true }, { ...admin, org: fanOrg });
      const url = `${t.url}/hooks/${created.body.integration._id}/${created.body.integration.token}`;
      const post = (text: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
      expect((await post('to both')).status).toBe(200);
      await t.gql(DropChannel, { id: b.id });
      const c = await createChannel(t, fanOrg, 'c');
      expect((await post('after the changes')).status).toBe(200);
      expect((await messagesOf(t, a.id)).map((m) => m.message)).toEqual(['to both', 'after the changes']);
      expect((await messagesOf(t, c.id)).map((m) => m.message)).toEqual(['after the changes']);
    });

    it('runs incoming scripts; a throwing or looping script is reported in history while webhooks keep being served', async () => {
      const script = `
        class Script {
          process_incoming_request({ request }) {
            if (request.content.mode === 'loop') { for (;;) {} }
            if (request.content.mode === 'throw') throw new Error('cannot handle ' + request.content.mode);
            if (request.content.mode === 'refuse') return { error: { success: false, message: 'refused by script' } };
            if (request.content.mode === 'drop') return false;
            console.log('seen', request.content.event);
            // The URL carries the hook's token: the history keeps this line with the token masked.
            console.log('path', request.url.path);
            return { content: { text: 'Event: ' + request.content.event + ' by ' + request.headers['x-sender'], emoji: ':robot:' } };
          }
        }`;
      const created = await call(t, 'POST', '/api/v1/integrations.create', { type: 'webhook-incoming', username: 'scripted', channel: '#random', scriptEnabled: true, script, name: 'scripted', enabled: true }, admin);
      expect(created.status).toBe(200);
      const { _id: id, token } = created.body.integration;
      const hook = (body: unknown) =>
        fetch(`${t.url}/hooks/${id}/${token}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sender': 'ci' }, body: JSON.stringify(body) });

      const ok = await hook({ event: 'deploy' });
      expect(await ok.json()).toEqual({ success: true });
      expect((await messagesOf(t, random.id)).at(-1)).toMatchObject({ message: 'Event: deploy by ci', username: 'scripted' });

      const thrown = await hook({ mode: 'throw' });
      expect(thrown.status).toBe(400);
      expect(await thrown.json()).toEqual({ success: false, error: 'error-running-script' });
      const refused = await hook({ mode: 'refuse' });
      expect(await refused.json()).toEqual({ success: false, error: { success: false, message: 'refused by script' } });
      const dropped = await hook({ mode: 'drop' });
      expect(await dropped.json()).toEqual({ success: true });

      // While one call's script loops until the 3 s limit, a plain incoming hook keeps being answered.
      const plain = await call(t, 'POST', '/api/v1/integrations.create', { type: 'webhook-incoming', username: 'plain', channel: '#random', scriptEnabled: false, name: 'plain', enabled: true }, admin);
      const plainUrl = `${t.url}/hooks/${plain.body.integration._id}/${plain.body.integration.token}`;
      const timePlain = async () => {
        const started = performance.now();
        const r = await fetch(plainUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'ping' }) });
        expect(r.status).toBe(200);
        return performance.now() - started;
      };
      const idle: number[] = [];
      for (let i = 0; i < 10; i++) idle.push(await timePlain());
      const looping = hook({ mode: 'loop' });
      await new Promise((r) => setTimeout(r, 100));
      const busy: number[] = [];
      for (let i = 0; i < 10; i++) busy.push(await timePlain());
      const loopAnswer = await looping;
      expect(loopAnswer.status).toBe(400);
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      // Served meanwhile: every plain call answered before the looping script was stopped.
      expect(busy.reduce((a, b) => a + b, 0)).toBeLessThan(3_000);
      console.log(`incoming hook latency: idle median ${median(idle).toFixed(1)} ms, while a script loops ${median(busy).toFixed(1)} ms`);

      const history = await call(t, 'GET', `/api/v1/integrations.history?id=${id}&count=10`, undefined, admin);
      const steps = history.body.history.map((h: { step: string }) => h.step);
      expect(steps).toEqual(['execute-script-error', 'script-returned-nothing', 'script-returned-error', 'execute-script-error', 'finished']);
      expect(history.body.history[0].errorStack).toBe('script exceeded the 3000 ms time limit');
      expect(history.body.history[3].errorStack).toBe('cannot handle throw');
      expect(history.body.history[4].scriptLogs).toEqual(['log: seen deploy', `log: path /hooks/${id}/********${token.slice(-4)}`]);
    });

    it('stops hostile incoming scripts (allocation, process/require, prototype tricks) and reports each in history', async () => {
      const hostile: [string, string, RegExp][] = [
        ['alloc', 'const a = []; for (;;) a.push(new Array(1 << 20).fill(Math.random()));', /^script exceeded the 8 MB memory limit$/],
        ['process', 'return { content: { text: JSON.stringify(process.env) } };', /^ReferenceError: process is not defined$/],
        ['require', "return { content: { text: require('fs').readFileSync('/etc/passwd', 'utf8') } };", /^ReferenceError: require is not defined$/],
        ['escape', "return { content: { text: String(this.constructor.constructor('return process')().pid) } };", /process is not defined|Cannot read properties of undefined/],
        ['proto', "Object.prototype.text = 'polluted'; return { content: Object.create({ text: 'inherited only' }) };", /^text is required/],
      ];
      for (const [name, body, error] of hostile) {
        const created = await call(
          t,
          'POST',
          '/api/v1/integrations.create',
          { type: 'webhook-incoming', username: name, channel: '#random', scriptEnabled: true, script: `class Script { process_incoming_request({ request }) { ${body} } }`, name: `hostile-${name}`, enabled: true },
          admin,
        );
        expect(created.status, name).toBe(200);
        const { _id: id, token } = created.body.integration;
        const r = await fetch(`${t.url}/hooks/${id}/${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hi' }) });
        expect(r.status, name).toBe(400);
        const h = await call(t, 'GET', `/api/v1/integrations.history?id=${id}`, undefined, admin);
        expect(h.body.history[0], name).toMatchObject({ error: true, finished: true });
        expect(h.body.history[0].errorStack, name).toMatch(error);
        await call(t, 'POST', '/api/v1/integrations.remove', { type: 'webhook-incoming', integrationId: id }, admin);
      }
      expect(({} as Record<string, unknown>).text).toBeUndefined();
      expect((await messagesOf(t, random.id)).some((m) => m.message === 'polluted' || m.message === 'inherited only')).toBe(false);
    });

    it('suspends a script stopped at its limits three times in a row, until it is changed', async () => {
      const created = await call(
        t,
        'POST',
        '/api/v1/integrations.create',
        { type: 'webhook-incoming', username: 'greedy', channel: '#random', scriptEnabled: true, script: 'class Script { process_incoming_request() { const a = []; for (;;) a.push(new Array(1 << 20).fill(1)); } }', name: 'greedy', enabled: true },
        admin,
      );
      const { _id: id, token } = created.body.integration;
      const hook = () => fetch(`${t.url}/hooks/${id}/${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hi' }) });
      for (let i = 0; i < 4; i++) expect((await hook()).status).toBe(400);
      const h = await call(t, 'GET', `/api/v1/integrations.history?id=${id}`, undefined, admin);
      expect(h.body.history.map((r: { errorStack: string }) => r.errorStack)).toEqual([
        expect.stringMatching(/^script suspended for \d+ s after 3 runs in a row were stopped at their limits$/),
        'script exceeded the 8 MB memory limit',
        'script exceeded the 8 MB memory limit',
        'script exceeded the 8 MB memory limit',
      ]);
      const fixed = await call(t, 'PUT', '/api/v1/integrations.update', { type: 'webhook-incoming', integrationId: id, script: "class Script { process_incoming_request() { return { content: { text: 'fixed' } }; } }" }, admin);
      expect(fixed.status).toBe(200);
      expect((await hook()).status).toBe(200);
      expect((await messagesOf(t, random.id)).at(-1)?.message).toBe('fixed');
      await call(t, 'POST', '/api/v1/integrations.remove', { type: 'webhook-incoming', integrationId: id }, admin);
    });

    it('calls outgoing urls on sendMessage with the Rocket.Chat payload, posts the answer back once, honours trigger words', async () => {
      let server: LocalServer | undefined;
      try {
        server = await startServer((req, res) => {
          const body = req.json as { text: string };
          json(res, 200, { text: `pong: ${body.text}`, username: 'pong.bot' });
        });
        const created = await call(
          t,
          'POST',
          '/api/v1/integrations.create',
          { type: 'webhook-outgoing', username: 'ping.bot', channel: '#general', scriptEnabled: false, name: 'ping', enabled: true, event: 'sendMessage', urls: [`${server.url}/hook`], triggerWords: 'ping,!ask', token: 'outgoing-secret-123456' },
          admin,
        );
        expect(created.status).toBe(200);
        expect(created.body.integration).toMatchObject({ triggerWords: ['ping', '!ask'], token: '********3456', retryFailedCalls: true, retryCount: 6, retryDelay: 'powers-of-ten' });

        const sent = await t.gql(Send, { channelId: general.id, message: 'ping hello' });
        const sentId = sent.sendMessage.__typename === 'MutationSendMessageSuccess' ? sent.sendMessage.data.id : '';
        await t.gql(Send, { channelId: general.id, message: 'no trigger here ping' });
        await t.gql(Send, { channelId: random.id, message: 'ping in another channel' });

        const reply = await until(async () => (await messagesOf(t, general.id)).find((m) => m.message === 'pong: ping hello'), 10_000, 'the reply');
        expect(reply).toMatchObject({ source: 'rocketchat-outgoing', username: 'ping.bot' });
        await new Promise((r) => setTimeout(r, 300));
        expect(server.requests).toHaveLength(1);
        expect(server.requests[0].json).toEqual({
          token: 'outgoing-secret-123456',
          bot: false,
          channel_id: general.id,
          channel_name: 'general',
          message_id: sentId,
          timestamp: expect.any(String),
          user_id: admin.userId,
          user_name: 'admin',
          text: 'ping hello',
          siteUrl: t.url,
          trigger_word: 'ping',
        });
        const history = await call(t, 'GET', `/api/v1/integrations.history?id=${created.body.integration._id}`, undefined, admin);
        expect(history.body.history[0]).toMatchObject({ type: 'outgoing-webhook', step: 'finished', finished: true, triggerWord: 'ping', httpResult: { statusCode: 200 }, messageId: sentId });
        expect(history.body.history[0].data.token).toBe('********3456');
        expect(history.body.history[0].deliveryId).toMatch(/^[0-9A-Z]{26}$/);
        await call(t, 'POST', '/api/v1/integrations.remove', { type: 'webhook-outgoing', integrationId: created.body.integration._id }, admin);
      } finally {
        await server?.close();
      }
    });

    it("retries failed calls on Rocket.Chat's schedule, every attempt a delivery, and disables on 410", async () => {
      let server: LocalServer | undefined;
      try {
        let calls = 0;
        server = await startServer((req, res) => {
          calls++;
          if (req.url === '/gone') return json(res, 410, { error: 'gone' });
          if (calls < 3) return json(res, 500, { error: 'busy' });
          json(res, 200, {});
        });
        const retrying = await call(
          t,
          'POST',
          '/api/v1/integrations.create',
          { type: 'webhook-outgoing', username: 'r', channel: 'all_public_channels', scriptEnabled: false, name: 'retry', enabled: true, event: 'sendMessage', urls: [`${server.url}/flaky`], retryCount: 3, retryDelay: 'powers-of-ten' },
          admin,
        );
        await t.gql(Send, { channelId: random.id, message: 'retry me' });
        const id = retrying.body.integration._id;
        const done = await until(async () => {
          const h = await call(t, 'GET', `/api/v1/integrations.history?id=${id}`, undefined, admin);
          return h.body.history[0]?.finished ? h.body.history[0] : undefined;
        }, 15_000, 'three attempts');
        expect(done).toMatchObject({ step: 'finished', httpResult: { statusCode: 200 } });
        expect(server.requests.filter((r) => r.url === '/flaky')).toHaveLength(3);
        // Every attempt is a delivery; retries wait 0.1 s then 1 s (powers-of-ten).
        const rows = (await t.gql(Deliveries, { channelId: random.id })).channel!.deliveries.edges.map((e) => e.node).filter((d) => d.targetId === id).reverse();
        expect(rows.map((d) => [d.attempt, d.status, d.statusCode])).toEqual([[1, 'retried', 500], [2, 'retried', 500], [3, 'succeeded', 200]]);
        const waited = (d: { createdAt: string; updatedAt: string }) => Date.parse(d.updatedAt) - Date.parse(d.createdAt);
        expect(waited(rows[1])).toBeGreaterThanOrEqual(100);
        expect(waited(rows[2])).toBeGreaterThanOrEqual(1_000);
        await call(t, 'POST', '/api/v1/integrations.remove', { type: 'webhook-outgoing', integrationId: id }, admin);

        const gone = await call(
          t,
          'POST',
          '/api/v1/integrations.create',
          { type: 'webhook-outgoing', username: 'g', channel: '#random', scriptEnabled: false, name: 'gone', enabled: true, event: 'sendMessage', urls: [`${server.url}/gone`] },
          admin,
        );
        await t.gql(Send, { channelId: random.id, message: 'are you there' });
        const goneId = gone.body.integration._id;
        await until(async () => !(await call(t, 'GET', `/api/v1/integrations.get?integrationId=${goneId}`, undefined, admin)).body.integration.enabled, 10_000, 'the integration disabled');
        const h = await call(t, 'GET', `/api/v1/integrations.history?id=${goneId}`, undefined, admin);
        expect(h.body.history[0]).toMatchObject({ error: true, finished: true, errorStack: 'Disabling the integration because the status code was 410 (Gone)' });
        expect(server.requests.filter((r) => r.url === '/gone')).toHaveLength(1);
        await call(t, 'POST', '/api/v1/integrations.remove', { type: 'webhook-outgoing', integrationId: goneId }, admin);
      } finally {
        await server?.close();
      }
    });

    it('runs prepare_outgoing_request and process_outgoing_response scripts, and fires roomCreated', async () => {
      let server: LocalServer | undefined;
      try {
        server = await startServer((req, res) => json(res, 200, { answer: 42, echo: req.json }));
        const script = `
          class Script {
            prepare_outgoing_request({ request }) {
              if (request.data.text.startsWith('skip')) return false;
              if (request.data.text.startsWith('local')) return { message: { text: 'answered locally' } };
              return { url: request.url + '?from=script', method: 'POST', headers: { 'x-signed': 'yes' }, data: { q: request.data.text } };
            }
            process_outgoing_response({ request, response }) {
              return { content: { text: 'The answer is ' + response.content.answer + ' to ' + response.content.echo.q } };
            }
          }`;
        const created = await call(
          t,
          'POST',
          '/api/v1/integrations.create',
          { type: 'webhook-outgoing', username: 'oracle', channel: '#general', scriptEnabled: true, script, name: 'oracle', enabled: true, event: 'sendMessage', urls: [`${server.url}/ask`], triggerWords: ['?'], triggerWordAnywhere: true },
          admin,
        );
        expect(created.status).toBe(200);
        await t.gql(Send, { channelId: general.id, message: 'what is it?' });
        await until(async () => (await messagesOf(t, general.id)).some((m) => m.message === 'The answer is 42 to what is it?'), 10_000, 'the scripted reply');
        expect(server.requests[0]).toMatchObject({ url: '/ask?from=script', json: { q: 'what is it?' } });
        expect(server.requests[0].headers['x-signed']).toBe('yes');
        await t.gql(Send, { channelId: general.id, message: 'skip this?' });
        await t.gql(Send, { channelId: general.id, message: 'local one?' });
        await until(async () => (await messagesOf(t, general.id)).some((m) => m.message === 'answered locally'), 10_000, 'the local answer');
        expect(server.requests).toHaveLength(1);
        await call(t, 'POST', '/api/v1/integrations.remove', { type: 'webhook-outgoing', integrationId: created.body.integration._id }, admin);

        const rooms = await call(
          t,
          'POST',
          '/api/v1/integrations.create',
          { type: 'webhook-outgoing', username: 'rooms', channel: 'all_public_channels', scriptEnabled: false, name: 'rooms', enabled: true, event: 'roomCreated', urls: [`${server.url}/rooms`] },
          admin,
        );
        const fresh = await createChannel(t, orgId, 'fresh');
        const call1 = await until(() => server!.requests.find((r) => r.url === '/rooms'), 10_000, 'roomCreated call');
        expect(call1.json).toMatchObject({ bot: false, channel_id: fresh.id, channel_name: 'fresh' });
        await call(t, 'POST', '/api/v1/integrations.remove', { type: 'webhook-outgoing', integrationId: rooms.body.integration._id }, admin);
      } finally {
        await server?.close();
      }
    });
  });
}
