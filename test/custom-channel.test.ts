import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import { Webhook } from 'standardwebhooks';
import WebSocket from 'ws';
import { graphql } from './gql/index.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './support/app.js';
import { json, startServer, type LocalServer } from './support/http-server.js';
import { addMember, createChannel, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';
import { until } from './support/wait.js';

const Connect = graphql(`
  mutation CcConnect($channelId: ID!, $baseUrl: String!, $defaultContactId: String) {
    connectCustomChannel(input: { channelId: $channelId, baseUrl: $baseUrl, defaultContactId: $defaultContactId }) {
      __typename
      ... on MutationConnectCustomChannelSuccess { data { apiToken connection { id channelId baseUrl tokenHint webhookUrl defaultContactId lastContactId } } }
      ... on Error { message }
      ... on ValidationError { field }
    }
  }
`);

const Disconnect = graphql(`
  mutation CcDisconnect($channelId: ID!) {
    disconnectCustomChannel(input: { channelId: $channelId }) {
      __typename
      ... on MutationDisconnectCustomChannelSuccess { data { id channelId } }
      ... on Error { message }
      ... on ValidationError { field }
    }
  }
`);

const ChannelState = graphql(`
  query CcChannel($id: ID!) {
    channel(id: $id) {
      id
      customChannel { id lastContactId tokenHint }
      messages(first: 100) { edges { node { id message username source userId } } }
      deliveries(first: 100, kind: "custom-channel") { edges { node { id kind url attempt status statusCode error response messageId } } }
    }
  }
`);

const Send = graphql(`
  mutation CcSend($channelId: ID!, $message: String!) {
    sendMessage(input: { channelId: $channelId, message: $message }) { __typename ... on MutationSendMessageSuccess { data { id } } ... on Error { message } }
  }
`);

/**
 * A server shaped like respond.io's custom channel example (ClickSend SMS): `POST /message` takes
 * outbound messages from the platform (bearer token checked, 400 {error: {message}} on refusal), and
 * `POST /clicksend/push_message` takes an inbound SMS from the provider and forwards it to the
 * platform's custom channel webhook.
 */
async function exampleServer(config: { platformUrl: () => string; token: () => string; channelId: () => string }) {
  const sent: { contactId: string; text: string }[] = [];
  const server: LocalServer = await startServer(async (req, res) => {
    if (req.url === '/message' && req.method === 'POST') {
      if (req.headers.authorization !== `Bearer ${config.token()}`) return json(res, 401, { error: { message: 'Unauthorized' } });
      const body = req.json as { contactId: string; message: { type: string; text: string } };
      if (body.message?.type !== 'text') return json(res, 400, { error: { message: 'Only text messages are supported' } });
      if (body.contactId === '+000') return json(res, 400, { error: { message: 'Invalid recipient number' } });
      sent.push({ contactId: body.contactId, text: body.message.text });
      return json(res, 200, { mId: `sms-${sent.length}` });
    }
    if (req.url === '/clicksend/push_message' && req.method === 'POST') {
      const sms = req.json as { from: string; body: string; message_id: string; timestamp: number };
      const forward = await fetch(`${config.platformUrl()}/custom/channel/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${config.token()}` },
        body: JSON.stringify({
          channelId: config.channelId(),
          contactId: sms.from,
          events: [{ type: 'message', mId: sms.message_id, timestamp: sms.timestamp, message: { type: 'text', text: sms.body } }],
          contact: { firstName: '', lastName: '', phone: sms.from, countryCode: 'MY' },
        }),
      });
      return json(res, forward.status, await forward.json());
    }
    json(res, 404, { error: { message: 'not found' } });
  });
  return { server, sent };
}

for (const db of databases) {
  describe(`custom channels (${db})`, () => {
    let t: TestApp;
    let orgId: string;
    let channel: { id: string };
    let token = '';
    let example: Awaited<ReturnType<typeof exampleServer>>;

    beforeAll(async () => {
      t = await startTestApp(db);
      orgId = await createOrg(t, 'SMS');
      channel = await createChannel(t, orgId, 'sms');
      example = await exampleServer({ platformUrl: () => t.url, token: () => token, channelId: () => channel.id });
    });
    afterAll(async () => {
      await example?.server.close();
      await t?.close();
    });

    const state = async () => (await t.gql(ChannelState, { id: channel.id })).channel!;

    it('connects a channel (admins only), shows the API token once and validates the URL', async () => {
      const bad = await t.gql(Connect, { channelId: channel.id, baseUrl: 'ftp://example.com' });
      expect(bad.connectCustomChannel).toMatchObject({ __typename: 'ValidationError', field: 'baseUrl', message: 'baseUrl must be an http or https URL' });
      const member = await createUser(t, 'cc-member');
      await addMember(t, orgId, member.id, 'MEMBER');
      const refused = await t.gql(Connect, { channelId: channel.id, baseUrl: example.server.url }, member.token);
      expect(refused.connectCustomChannel.__typename).toBe('ForbiddenError');
      const outsider = await createUser(t, 'cc-outsider');
      const hidden = await t.gql(Connect, { channelId: channel.id, baseUrl: example.server.url }, outsider.token);
      expect(hidden.connectCustomChannel.__typename).toBe('NotFoundError');

      // Pasted as the server's outbound route itself: its base is kept.
      const ok = await t.gql(Connect, { channelId: channel.id, baseUrl: `${example.server.url}/message/`, defaultContactId: '+60123456789' });
      if (ok.connectCustomChannel.__typename !== 'MutationConnectCustomChannelSuccess') throw new Error(JSON.stringify(ok));
      token = ok.connectCustomChannel.data.apiToken;
      expect(ok.connectCustomChannel.data.connection).toEqual({
        id: expect.any(String),
        channelId: channel.id,
        baseUrl: example.server.url,
        tokenHint: token.slice(-4),
        webhookUrl: `${t.url}/custom/channel/webhook`,
        defaultContactId: '+60123456789',
        lastContactId: null,
      });
      expect((await state()).customChannel).toMatchObject({ tokenHint: token.slice(-4) });
    });

    it('inbound: the example server forwards an SMS; it is stored and seen live by subscribers', async () => {
      const received: string[] = [];
      const client = createClient({ url: `${t.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` }, lazy: false });
      const connected = new Promise<void>((r) => client.on('connected', () => setTimeout(r, 150)));
      const stop = client.subscribe<{ channelMessages: { message: string } }>(
        { query: 'subscription($id: ID!) { channelMessages(channelId: $id) { message } }', variables: { id: channel.id } },
        { next: (v) => v.data && received.push(v.data.channelMessages.message), error: () => undefined, complete: () => undefined },
      );
      try {
        await connected;
        const push = await fetch(`${example.server.url}/clicksend/push_message`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ from: '+60111111111', body: 'Hello from SMS', message_id: 'cs-1', timestamp: 1700000000 }),
        });
        expect(push.status).toBe(200);
        expect(await push.json()).toMatchObject({ status: 'success', data: { messageIds: [expect.any(String)] } });
        await until(() => received.includes('Hello from SMS'), 10_000, 'the live message');
      } finally {
        stop();
        await client.dispose();
      }
      const s = await state();
      expect(s.messages.edges.map((e) => e.node)).toContainEqual(expect.objectContaining({ message: 'Hello from SMS', username: '+60111111111', source: 'custom_channel', userId: 'contact:+60111111111' }));
      expect(s.customChannel?.lastContactId).toBe('+60111111111');
      // An inbound message is never sent back out to the server.
      await new Promise((r) => setTimeout(r, 200));
      expect(example.sent).toEqual([]);
    });

    it('inbound: a wrong or missing token is 401 and nothing is stored; bad bodies name the field', async () => {
      const before = (await state()).messages.edges.length;
      const body = { channelId: channel.id, contactId: '+6011', events: [{ type: 'message', mId: 'x', timestamp: 1, message: { type: 'text', text: 'sneaky' } }], contact: {} };
      for (const authorization of [undefined, 'Bearer wrong-token', `Bearer ${token}x`]) {
        const r = await fetch(`${t.url}/custom/channel/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: JSON.stringify(body) });
        expect(r.status).toBe(401);
        expect(await r.json()).toMatchObject({ status: 'error', status_code: 401 });
      }
      const post = (b: unknown) => fetch(`${t.url}/custom/channel/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(b) });
      const cases: [unknown, string][] = [
        [{ ...body, contactId: undefined }, 'contactId'],
        [{ ...body, events: [] }, 'events'],
        [{ ...body, events: [{ type: 'message', message: { type: 'image', url: 'http://x' } }] }, 'events.0.message.type'],
        [{ ...body, events: [{ type: 'message', message: { type: 'text', text: '' } }] }, 'events.0.message.text'],
        [{ ...body, channelId: 'another-channel' }, 'channelId'],
      ];
      for (const [b, field] of cases) {
        const r = await post(b);
        expect(r.status, field).toBe(400);
        expect((await r.json()).errors[0].field).toBe(field);
      }
      expect((await state()).messages.edges.length).toBe(before);
    });

    it('outbound: channel messages go to /message with the bearer token; a 400 is a failed delivery', async () => {
      const sent = await t.gql(Send, { channelId: channel.id, message: 'Reply from the team' });
      const messageId = sent.sendMessage.__typename === 'MutationSendMessageSuccess' ? sent.sendMessage.data.id : '';
      await until(() => example.sent.length === 1, 10_000, 'the outbound SMS');
      expect(example.sent).toEqual([{ contactId: '+60111111111', text: 'Reply from the team' }]);
      const call = example.server.requests.find((r) => r.url === '/message')!;
      expect(call.json).toEqual({ contactId: '+60111111111', message: { type: 'text', text: 'Reply from the team' } });
      // Signed (Standard Webhooks) with the connection's API token as the raw key.
      expect(new Webhook(token, { format: 'raw' }).verify(call.body, call.headers as Record<string, string>)).toEqual(call.json);
      expect(() => new Webhook('whsec_' + Buffer.from(token).toString('base64')).verify(call.body.replace('Reply', 'reply'), call.headers as Record<string, string>)).toThrow();
      const ok = await until(async () => (await state()).deliveries.edges.map((e) => e.node).find((d) => d.messageId === messageId && d.status === 'succeeded'), 10_000, 'the succeeded delivery');
      expect(ok).toMatchObject({ kind: 'custom-channel', url: `${example.server.url}/message`, statusCode: 200, response: '{"mId":"sms-1"}' });

      // The example server refuses this recipient with 400 {error: {message}}: failed at once, no retry.
      const forward = await fetch(`${example.server.url}/clicksend/push_message`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ from: '+000', body: 'from a bad number', message_id: 'cs-2', timestamp: 1700000001 }),
      });
      expect(forward.status).toBe(200);
      const refused = await t.gql(Send, { channelId: channel.id, message: 'to nowhere' });
      const refusedId = refused.sendMessage.__typename === 'MutationSendMessageSuccess' ? refused.sendMessage.data.id : '';
      const failed = await until(async () => (await state()).deliveries.edges.map((e) => e.node).find((d) => d.messageId === refusedId && d.status !== 'pending'), 10_000, 'the failed delivery');
      expect(failed).toMatchObject({ status: 'failed', statusCode: 400, attempt: 1, response: '{"error":{"message":"Invalid recipient number"}}' });
    });

    it('disconnecting stops both directions', async () => {
      const r = await t.gql(Disconnect, { channelId: channel.id });
      expect(r.disconnectCustomChannel).toMatchObject({ __typename: 'MutationDisconnectCustomChannelSuccess', data: { channelId: channel.id } });
      const again = await t.gql(Disconnect, { channelId: channel.id });
      expect(again.disconnectCustomChannel).toMatchObject({ __typename: 'ValidationError', field: 'channelId' });
      const inbound = await fetch(`${t.url}/custom/channel/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ contactId: '1', events: [{ type: 'message', message: { type: 'text', text: 'late' } }] }),
      });
      expect(inbound.status).toBe(401);
      const before = example.server.requests.length;
      await t.gql(Send, { channelId: channel.id, message: 'not forwarded' });
      await new Promise((r) => setTimeout(r, 300));
      expect(example.server.requests.length).toBe(before);
      expect((await state()).customChannel).toBeNull();
    });
  });
}
