/**
 * The rest of the Telex spec through the real doors: slash commands (a local command server answers them,
 * the answer reaches a graphql-ws subscriber), output channels (an integration on all channels reaches a
 * channel created afterwards) and the integration's bot user (the name its own posts appear under).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './support/app.js';
import { json, startServer, type LocalServer, type Recorded } from './support/http-server.js';
import { addIntegration, addMember, createChannel, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';
import { sleep, until } from './support/wait.js';

interface CommandBody {
  message: string;
  channel_id: string;
  org_id: string;
  thread_id: string | null;
  settings: { label: string; type: string; default: unknown }[];
  command: string;
  text: string;
  user_id: string;
  username: string;
}

/** A spec with slash commands and a bot user, served by the local integration server. */
function commandSpec(base: string, name: string, commands: unknown[], extra: Record<string, unknown> = {}) {
  return {
    data: {
      descriptions: { app_name: name, app_description: 'Answers commands', app_url: 'https://example.com', app_logo: 'https://example.com/l.png', background_color: '#fff' },
      integration_type: 'output',
      integration_category: 'Communication & Collaboration',
      key_features: ['commands'],
      permissions: { bot_user: { always_online: true, display_name: `${name} Bot` }, events: ['Reads messages'] },
      settings: [
        { label: 'Units', type: 'dropdown', required: true, default: 'metric', options: ['metric', 'imperial'] },
        { label: 'Verbose', type: 'checkbox', required: false, default: 'Yes' },
      ],
      slash_commands: commands,
      target_url: `${base}/output`,
      ...extra,
    },
  };
}

const SEND = 'mutation($channelId: ID!, $message: String!) { sendMessage(input: { channelId: $channelId, message: $message }) { __typename ... on MutationSendMessageSuccess { data { id message username source userId eventName } } ... on CommandError { message reason command integrationId deliveryId } ... on Error { message } } }';

const ENABLE = 'mutation($integrationId: ID!, $channelId: ID!) { enableIntegration(input: { integrationId: $integrationId, channelId: $channelId }) { __typename ... on MutationEnableIntegrationSuccess { data { id warnings } } ... on Error { message } } }';
const DISABLE = 'mutation($integrationId: ID!, $channelId: ID!) { disableIntegration(input: { integrationId: $integrationId, channelId: $channelId }) { __typename ... on Error { message } } }';

type Sent = { __typename: string; data?: { id: string; message: string; username: string; source: string; userId: string; eventName: string }; message?: string; reason?: string; command?: string; integrationId?: string; deliveryId?: string };

for (const db of databases) {
  describe(`Telex spec: slash commands, output channels, bot user (${db})`, () => {
    let t: TestApp;
    let server: LocalServer;
    let commandCalls: { path: string; body: CommandBody }[];
    let outputs: { channel_id: string; message: string }[];
    const clients: Client[] = [];

    beforeAll(async () => {
      commandCalls = [];
      outputs = [];
      server = await startServer(async (req: Recorded, res) => {
        const path = req.url.split('?')[0];
        const base = server.url;
        if (path === '/spec/weather')
          return json(res, 200, commandSpec(base, 'Weather', [
            { command: '/weather', description: 'Weather for a city', url: `${base}/cmd/weather` },
            { command: 'Forecast', description: 'Three days ahead', url: `${base}/cmd/forecast` },
            { command: '/slow', description: 'Takes too long', url: `${base}/cmd/slow` },
            { command: '/broken', description: 'Fails', url: `${base}/cmd/broken` },
            { command: '/silent', description: 'Answers no message', url: `${base}/cmd/silent` },
            { command: 'has space', description: 'Cannot work', url: `${base}/cmd/x` },
          ]));
        if (path === '/spec/rival') return json(res, 200, commandSpec(base, 'Rival', [{ command: '/WEATHER', description: 'Also weather', url: `${base}/cmd/rival` }]));
        if (path === '/spec/everywhere')
          return json(res, 200, commandSpec(base, 'Everywhere', [], { output: [{ label: 'All Channels', value: true }], permissions: { monitoring_user: { display_name: 'Watcher' } } }));
        if (path === '/spec/chosen') return json(res, 200, commandSpec(base, 'Chosen', [], { output: [{ label: '#alerts', value: true }, { label: 'output_channel_1', value: true }, { label: 'ops', value: false }] }));
        if (path === '/output') {
          outputs.push(req.json as { channel_id: string; message: string });
          return json(res, 202, { status: 'accepted' });
        }
        if (path.startsWith('/cmd/')) {
          const body = req.json as CommandBody;
          commandCalls.push({ path, body });
          if (path === '/cmd/slow') {
            await sleep(1_500);
            return json(res, 200, { message: 'too late' });
          }
          if (path === '/cmd/broken') return json(res, 500, { error: 'boom' });
          if (path === '/cmd/silent') return json(res, 200, { ok: true });
          if (path === '/cmd/rival') return json(res, 200, { message: 'rival answer' });
          const units = body.settings.find((s) => s.label === 'Units')?.default;
          return json(res, 200, { message: `${body.command} ${body.text || 'nowhere'}: 21 degrees (${units})` });
        }
        json(res, 404, {});
      });
      t = await startTestApp(db, { COMMAND_TIMEOUT_MS: '500' });
    });
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.dispose()));
      await t?.close();
      await server?.close();
    });

    async function gql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown>, token: string = ADMIN_TOKEN): Promise<T> {
      const body = await t.gqlRaw(query, variables, token);
      if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
      return body.data as T;
    }
    const send = async (channelId: string, message: string, token?: string) => (await gql<{ sendMessage: Sent }>(SEND, { channelId, message }, token)).sendMessage;
    const enable = async (integrationId: string, channelId: string) =>
      (await gql<{ enableIntegration: { __typename: string; data?: { id: string; warnings: string[] } } }>(ENABLE, { integrationId, channelId })).enableIntegration;
    const messages = async (channelId: string) =>
      (await gql<{ messages: { edges: { node: { message: string; username: string; source: string } }[] } }>(
        'query($channelId: ID!) { messages(channelId: $channelId, first: 100) { edges { node { message username source } } } }',
        { channelId },
      )).messages.edges.map((e) => e.node);
    const commandsOf = async (channelId: string) =>
      (await gql<{ channel: { commands: { name: string; description: string; integration: { id: string; name: string } }[] } }>(
        'query($id: ID!) { channel(id: $id) { commands { name description integration { id name } } } }',
        { id: channelId },
      )).channel.commands;

    function subscribe(channelId: string) {
      const client = createClient({ url: `${t.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` }, retryAttempts: 0 });
      clients.push(client);
      const events: { message: string; source: string; username: string }[] = [];
      client.subscribe(
        { query: 'subscription($channelId: ID!) { channelMessages(channelId: $channelId) { message source username } }', variables: { channelId } },
        { next: (r) => void events.push((r.data as { channelMessages: (typeof events)[number] }).channelMessages), error: () => {}, complete: () => {} },
      );
      return events;
    }

    it('runs a command a person sends: the documented body reaches the command url, the answer is posted live as the bot user', async () => {
      const org = await createOrg(t, 'Commands');
      const channel = await createChannel(t, org, 'general');
      const integrationId = await addIntegration(t, org, `${server.url}/spec/weather`);
      const added = await gql<{ integration: { botName: string; warnings: string[]; slashCommands: { name: string }[] } }>(
        'query($id: ID!) { integration(id: $id) { botName warnings slashCommands { name } } }',
        { id: integrationId },
      );
      expect(added.integration.botName).toBe('Weather Bot');
      expect(added.integration.slashCommands.map((c) => c.name)).toEqual(['/weather', '/forecast', '/slow', '/broken', '/silent']);
      expect(added.integration.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/slash_commands\[5\]\.command "has space" is not a command name/)]));

      // Not switched on yet: the channel has no commands, and "/weather" is unknown there.
      expect(await commandsOf(channel.id)).toEqual([]);
      expect(await send(channel.id, '/weather Lagos')).toMatchObject({ __typename: 'CommandError', reason: 'UNKNOWN_COMMAND', command: '/weather' });

      expect((await enable(integrationId, channel.id)).__typename).toBe('MutationEnableIntegrationSuccess');
      expect((await commandsOf(channel.id)).map((c) => [c.name, c.integration.id])).toEqual([
        ['/weather', integrationId],
        ['/forecast', integrationId],
        ['/slow', integrationId],
        ['/broken', integrationId],
        ['/silent', integrationId],
      ]);
      await gql('mutation($i: ID!, $c: ID!) { setChannelIntegrationSetting(input: { integrationId: $i, channelId: $c, label: "Units", value: "imperial" }) { __typename } }', { i: integrationId, c: channel.id });

      const events = subscribe(channel.id);
      await sleep(200);
      const member = await createUser(t, 'cmd-member');
      await addMember(t, org, member.id, 'MEMBER');
      // Any letter case; the command declared without its slash works with one.
      const answered = await send(channel.id, '/WEATHER  Lagos, Nigeria ', member.token);
      expect(answered).toMatchObject({
        __typename: 'MutationSendMessageSuccess',
        data: { message: '/weather Lagos, Nigeria: 21 degrees (imperial)', username: 'Weather Bot', source: 'command', userId: integrationId, eventName: 'command' },
      });
      const call = commandCalls.at(-1)!;
      expect(call.path).toBe('/cmd/weather');
      expect(call.body).toEqual({
        message: '/WEATHER  Lagos, Nigeria ',
        channel_id: channel.id,
        org_id: org,
        thread_id: null,
        settings: [
          { label: 'Units', type: 'dropdown', required: true, default: 'imperial', options: ['metric', 'imperial'] },
          { label: 'Verbose', type: 'checkbox', required: false, default: 'Yes' },
        ],
        command: '/weather',
        text: 'Lagos, Nigeria',
        user_id: member.id,
        username: 'cmd-member',
      });
      expect((await send(channel.id, '/forecast')).data?.message).toBe('/forecast nowhere: 21 degrees (imperial)');

      await until(() => events.length >= 2, 10_000, 'the answers on the subscription');
      expect(events).toEqual([
        { message: '/weather Lagos, Nigeria: 21 degrees (imperial)', source: 'command', username: 'Weather Bot' },
        { message: '/forecast nowhere: 21 degrees (imperial)', source: 'command', username: 'Weather Bot' },
      ]);
      // The command text is not stored (as in Slack); the answers are, and go on to the outputs.
      expect((await messages(channel.id)).map((m) => m.message)).toEqual(['/weather Lagos, Nigeria: 21 degrees (imperial)', '/forecast nowhere: 21 degrees (imperial)']);
      await until(() => outputs.filter((o) => o.channel_id === channel.id).length >= 2, 10_000, 'the outputs');

      // Each call is a delivery of kind "command" in the channel's history.
      const history = await gql<{ channel: { deliveries: { edges: { node: { kind: string; status: string; statusCode: number; messageId: string | null; targetId: string } }[] } } }>(
        'query($id: ID!) { channel(id: $id) { deliveries(kind: "command", first: 10) { edges { node { kind status statusCode messageId targetId } } } } }',
        { id: channel.id },
      );
      expect(history.channel.deliveries.edges.map((e) => e.node)).toEqual([
        expect.objectContaining({ kind: 'command', status: 'succeeded', statusCode: 200, targetId: integrationId, messageId: expect.any(String) }),
        expect.objectContaining({ kind: 'command', status: 'succeeded', statusCode: 200, targetId: integrationId, messageId: answered.data!.id }),
      ]);
    });

    it('answers failures, timeouts and unknown commands to the sender only; webhooks never run commands', async () => {
      const org = await createOrg(t, 'Failures');
      const channel = await createChannel(t, org, 'general');
      const integrationId = await addIntegration(t, org, `${server.url}/spec/weather`);
      await enable(integrationId, channel.id);
      const calls = commandCalls.length;

      const unknown = await send(channel.id, '/nope at all');
      expect(unknown).toMatchObject({ __typename: 'CommandError', reason: 'UNKNOWN_COMMAND', command: '/nope', integrationId: null, deliveryId: null });
      expect(unknown.message).toMatch(/\/nope is not a command of this channel \(its commands: \/weather, \/forecast, \/slow, \/broken, \/silent\)/);
      expect(commandCalls.length).toBe(calls);

      const slow = await send(channel.id, '/slow');
      expect(slow).toMatchObject({ __typename: 'CommandError', reason: 'TIMEOUT', command: '/slow', integrationId, deliveryId: expect.any(String) });
      expect(slow.message).toMatch(/did not answer within 500 ms/);
      expect(await send(channel.id, '/broken')).toMatchObject({ __typename: 'CommandError', reason: 'FAILED', command: '/broken' });
      expect(await send(channel.id, '/silent')).toMatchObject({ __typename: 'CommandError', reason: 'INVALID_ANSWER', command: '/silent' });

      // No retry: one call each; the failures are in the history as failed command deliveries.
      await sleep(1_200);
      expect(commandCalls.slice(calls).map((c) => c.path)).toEqual(['/cmd/slow', '/cmd/broken', '/cmd/silent']);
      const history = await gql<{ channel: { deliveries: { edges: { node: { status: string; error: string | null } }[] } } }>(
        'query($id: ID!) { channel(id: $id) { deliveries(kind: "command", first: 10) { edges { node { status error } } } } }',
        { id: channel.id },
      );
      expect(history.channel.deliveries.edges.map((e) => e.node.status)).toEqual(['failed', 'failed', 'failed']);

      // Text that is no command name is a plain message from a person too.
      expect((await send(channel.id, '/usr/bin is a path')).data?.message).toBe('/usr/bin is a path');
      // A webhook is a machine: its text starting with a command is a plain message, never a command.
      const hook = await fetch(`${t.url}/v1/webhooks/${channel.id}?event_name=deploy&message=${encodeURIComponent('/weather Lagos')}&status=success&username=ci`);
      expect(hook.status).toBe(202);
      expect((await messages(channel.id)).map((m) => [m.message, m.source])).toEqual([
        ['/usr/bin is a path', 'user'],
        ['/weather Lagos', 'webhook'],
      ]);
      expect(commandCalls.length).toBe(calls + 3);
    });

    it('keeps a command with the integration switched on first, says so on the other, and switching off removes commands', async () => {
      const org = await createOrg(t, 'Rivals');
      const channel = await createChannel(t, org, 'general');
      const weather = await addIntegration(t, org, `${server.url}/spec/weather`);
      const rival = await addIntegration(t, org, `${server.url}/spec/rival`);
      expect((await enable(weather, channel.id)).data?.warnings).toEqual([]);
      const refused = await enable(rival, channel.id);
      expect(refused.data?.warnings).toEqual(['/weather is not available in this channel: "Weather" was switched on first and declares it too']);
      expect((await commandsOf(channel.id)).find((c) => c.name === '/weather')?.integration.id).toBe(weather);
      expect((await send(channel.id, '/weather Accra')).data?.username).toBe('Weather Bot');

      // Switched off: its commands leave the channel; the rival's declaration now holds.
      expect((await gql<{ disableIntegration: { __typename: string } }>(DISABLE, { integrationId: weather, channelId: channel.id })).disableIntegration.__typename).toBe('MutationDisableIntegrationSuccess');
      expect((await commandsOf(channel.id)).map((c) => [c.name, c.integration.id])).toEqual([['/weather', rival]]);
      expect(await send(channel.id, '/forecast')).toMatchObject({ __typename: 'CommandError', reason: 'UNKNOWN_COMMAND' });
      expect((await send(channel.id, '/weather Accra')).data).toMatchObject({ message: 'rival answer', username: 'Rival Bot' });
      await gql(DISABLE, { integrationId: rival, channelId: channel.id });
      expect(await commandsOf(channel.id)).toEqual([]);
    });

    it('runs the commands a respond.io contact writes; a failure is answered to that contact alone', async () => {
      const org = await createOrg(t, 'Contacts');
      const channel = await createChannel(t, org, 'sms');
      const integrationId = await addIntegration(t, org, `${server.url}/spec/weather`);
      await enable(integrationId, channel.id);
      const sent: { contactId: string; text: string }[] = [];
      const sms = await startServer((req, res) => {
        sent.push({ contactId: (req.json as { contactId: string }).contactId, text: (req.json as { message: { text: string } }).message.text });
        json(res, 200, { mId: `sms-${sent.length}` });
      });
      try {
        const connected = await gql<{ connectCustomChannel: { data: { apiToken: string } } }>(
          'mutation($c: ID!, $b: String!) { connectCustomChannel(input: { channelId: $c, baseUrl: $b }) { ... on MutationConnectCustomChannelSuccess { data { apiToken } } } }',
          { c: channel.id, b: sms.url },
        );
        const push = (text: string, mId: string) =>
          fetch(`${t.url}/custom/channel/webhook/`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${connected.connectCustomChannel.data.apiToken}` },
            body: JSON.stringify({ channelId: channel.id, contactId: '+60123', events: [{ type: 'message', mId, timestamp: 1, message: { type: 'text', text } }], contact: { firstName: 'Ana', lastName: 'Lee' } }),
          });
        const ok = await push('/weather Penang', 'm1');
        expect(ok.status).toBe(200);
        const okBody = (await ok.json()) as { data: { messageIds: string[]; commands: { mId: string; command: string; messageId: string | null }[] } };
        expect(okBody.data.messageIds).toEqual([]);
        expect(okBody.data.commands).toEqual([{ mId: 'm1', command: '/weather', messageId: expect.any(String), reason: null, error: null }]);
        expect(commandCalls.at(-1)!.body).toMatchObject({ user_id: 'contact:+60123', username: 'Ana Lee', text: 'Penang' });
        // The answer is a channel message, so it goes out to the contact who wrote.
        await until(() => sent.length >= 1, 10_000, 'the answer sent to the contact');
        expect(sent[0]).toEqual({ contactId: '+60123', text: '/weather Penang: 21 degrees (metric)' });

        const bad = await push('/nope', 'm2');
        const badBody = (await bad.json()) as { data: { commands: { reason: string | null }[] } };
        expect(badBody.data.commands[0].reason).toBe('UNKNOWN_COMMAND');
        await until(() => sent.length >= 2, 10_000, 'the refusal sent to the contact');
        expect(sent[1].contactId).toBe('+60123');
        expect(sent[1].text).toMatch(/\/nope is not a command of this channel/);
        // Only the answer is in the channel: neither command text nor the refusal.
        expect((await messages(channel.id)).map((m) => [m.message, m.username])).toEqual([['/weather Penang: 21 degrees (metric)', 'Weather Bot']]);
      } finally {
        await sms.close();
      }
    });

    it('switches an integration on for all channels, present and future, and off again; the spec output chooses channels at intake', async () => {
      const org = await createOrg(t, 'Everywhere');
      const first = await createChannel(t, org, 'first');
      const alerts = await createChannel(t, org, 'Alerts');
      // The spec asks for "All Channels": switched on for every channel when added.
      const everywhere = await addIntegration(t, org, `${server.url}/spec/everywhere`);
      const later = await createChannel(t, org, 'later');
      const state = async (id: string) =>
        (await gql<{ integration: { allChannels: boolean; botName: string; channels: { channel: { id: string } }[] } }>(
          'query($id: ID!) { integration(id: $id) { allChannels botName channels { channel { id } } } }',
          { id },
        )).integration;
      let s = await state(everywhere);
      expect(s.allChannels).toBe(true);
      expect(s.botName).toBe('Watcher');
      expect(s.channels.map((c) => c.channel.id).sort()).toEqual([first.id, alerts.id, later.id].sort());

      // The channel created afterwards reaches the integration (an output here).
      const res = await fetch(`${t.url}/v1/webhooks/${later.id}?event_name=e&message=hello%20later&status=success&username=ci`);
      expect(res.status).toBe(202);
      await until(() => outputs.some((o) => o.channel_id === later.id && o.message === 'hello later'), 10_000, 'the output on the later channel');

      // REST shows it too.
      const rest = await fetch(`${t.url}/organisations/${org}/integrations`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const restBody = (await rest.json()) as { data: { id: string; all_channels: boolean; bot_name: string }[] };
      expect(restBody.data.find((i) => i.id === everywhere)).toMatchObject({ all_channels: true, bot_name: 'Watcher' });

      // Off on all: no links, and a channel created next does not get it.
      const off = await gql<{ disableIntegrationOnAllChannels: { __typename: string; data: { allChannels: boolean; channels: unknown[] } } }>(
        'mutation($i: ID!) { disableIntegrationOnAllChannels(input: { integrationId: $i }) { __typename ... on MutationDisableIntegrationOnAllChannelsSuccess { data { allChannels channels { id } } } } }',
        { i: everywhere },
      );
      expect(off.disableIntegrationOnAllChannels.data).toEqual({ allChannels: false, channels: [] });
      const afterOff = await createChannel(t, org, 'after-off');
      expect((await state(everywhere)).channels).toEqual([]);

      // On all again, by mutation; then off for one channel: the others stay, as chosen channels.
      const on = await gql<{ enableIntegrationOnAllChannels: { data: { allChannels: boolean; channels: unknown[] } } }>(
        'mutation($i: ID!) { enableIntegrationOnAllChannels(input: { integrationId: $i }) { ... on MutationEnableIntegrationOnAllChannelsSuccess { data { allChannels channels { id } } } } }',
        { i: everywhere },
      );
      expect(on.enableIntegrationOnAllChannels.data.allChannels).toBe(true);
      expect(on.enableIntegrationOnAllChannels.data.channels).toHaveLength(4);
      await gql(DISABLE, { integrationId: everywhere, channelId: afterOff.id });
      s = await state(everywhere);
      expect(s.allChannels).toBe(false);
      expect(s.channels).toHaveLength(3);
      await createChannel(t, org, 'not-included');
      expect((await state(everywhere)).channels).toHaveLength(3);

      // Output entries naming a channel switch it on there ("#alerts" matches "Alerts"); placeholders and false entries do nothing.
      const chosen = await addIntegration(t, org, `${server.url}/spec/chosen`);
      s = await state(chosen);
      expect(s.allChannels).toBe(false);
      expect(s.channels.map((c) => c.channel.id)).toEqual([alerts.id]);

      // Members cannot switch an integration on everywhere.
      const member = await createUser(t, 'everywhere-member');
      await addMember(t, org, member.id, 'MEMBER');
      const refused = await gql<{ enableIntegrationOnAllChannels: { __typename: string } }>(
        'mutation($i: ID!) { enableIntegrationOnAllChannels(input: { integrationId: $i }) { __typename } }',
        { i: chosen },
        member.token,
      );
      expect(refused.enableIntegrationOnAllChannels.__typename).toBe('ForbiddenError');
    });

    it("posts an interval integration's tokened post-back without a username under its bot name", async () => {
      const org = await createOrg(t, 'Bot names');
      const channel = await createChannel(t, org, 'status');
      const spec = commandSpec(server.url, 'Pinger', [], {
        integration_type: 'interval',
        tick_url: `${server.url}/tick`,
        settings: [{ label: 'interval', type: 'text', required: true, default: '0 0 1 1 *' }],
        permissions: { monitoring_user: { always_online: true, display_name: 'Performance Monitor' } },
      });
      const specServer = await startServer((_req, res) => json(res, 200, spec));
      try {
        const integrationId = await addIntegration(t, org, `${specServer.url}/spec`);
        await enable(integrationId, channel.id);
        const { returnUrl: returnUrlFor } = await import('../src/modules/ticks/ticks.service.js');
        const returnUrl = returnUrlFor(t.app.deps, { integrationId, channelId: channel.id });
        const res = await fetch(returnUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'all green', event_name: 'check', status: 'success' }) });
        expect(res.status).toBe(202);
        expect((await messages(channel.id)).map((m) => [m.message, m.username])).toEqual([['all green', 'Performance Monitor']]);
      } finally {
        await specServer.close();
      }
    });
  });
}
