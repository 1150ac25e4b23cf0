/**
 * Signed outbound calls, checked as an integration author checks them: a real local HTTP server receives an
 * output call, a modifier call, a slash command and a tick, and verifies each with the official `standardwebhooks` package
 * (`new Webhook(secret).verify(body, headers)`), through rotation, its overlap and a retried delivery.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentedInterval, documentedModifier, realWorldOutput } from './fixtures/specs.js';
import { startTestApp, type TestApp } from './support/app.js';
import { json, startServer, type LocalServer, type Recorded } from './support/http-server.js';
import { databases } from './support/services.js';
import { createChannel, createOrg } from './support/seed.js';
import { until } from './support/wait.js';

const ADD = `mutation ($organisationId: ID!, $jsonUrl: String!) {
  addIntegration(input: { organisationId: $organisationId, jsonUrl: $jsonUrl }) {
    __typename ... on MutationAddIntegrationSuccess { data { id signingSecret signingSecretHint } } ... on Error { message }
  }
}`;
const ROTATE = `mutation ($integrationId: ID!, $overlapHours: Float) {
  rotateIntegrationSigningSecret(input: { integrationId: $integrationId, overlapHours: $overlapHours }) {
    __typename ... on MutationRotateIntegrationSigningSecretSuccess { data { id signingSecret signingSecretHint previousSigningSecretExpiresAt } } ... on Error { message }
  }
}`;
const ENABLE = `mutation ($integrationId: ID!, $channelId: ID!) {
  enableIntegration(input: { integrationId: $integrationId, channelId: $channelId }) { __typename ... on Error { message } }
}`;
const DISABLE = `mutation ($integrationId: ID!, $channelId: ID!) {
  disableIntegration(input: { integrationId: $integrationId, channelId: $channelId }) { __typename ... on Error { message } }
}`;
const SEND = `mutation ($channelId: ID!, $message: String!) {
  sendMessage(input: { channelId: $channelId, message: $message }) { __typename ... on MutationSendMessageSuccess { data { id message } } ... on Error { message } }
}`;
const COMMANDS = `query ($id: ID!) { channel(id: $id) { deliveries(kind: "command", first: 5) { edges { node { id status } } } } }`;
const READ = `query ($id: ID!) { integration(id: $id) { signingSecret signingSecretHint } }`;
const DELIVERIES = `query ($id: ID!) { channel(id: $id) { deliveries(kind: "output", first: 50) { edges { node { id attempt status statusCode } } } } }`;

type Integration = { id: string; signingSecret: string | null; signingSecretHint: string | null; previousSigningSecretExpiresAt?: string | null };

/** What the receiver verifies: the raw body and the headers as they arrived. */
function verify(secret: string, req: Recorded) {
  return new Webhook(secret).verify(req.body, req.headers as Record<string, string>);
}

for (const db of databases) {
  describe(`signed outbound calls (${db})`, () => {
    let t: TestApp;
    let server: LocalServer;
    let orgId: string;
    let channel: { id: string; webhookUrl: string };
    let flaky = 0;
    const calls = (path: string) => server.requests.filter((r) => r.url.split('?')[0] === path);

    const gql = <T>(query: string, variables: Record<string, unknown>) => t.gqlData<T>(query, variables);
    async function add(path: string): Promise<Integration> {
      const r = await gql<{ addIntegration: { __typename: string; data: Integration } }>(ADD, { organisationId: orgId, jsonUrl: `${server.url}${path}` });
      expect(r.addIntegration.__typename).toBe('MutationAddIntegrationSuccess');
      return r.addIntegration.data;
    }
    async function rotate(id: string, overlapHours?: number): Promise<Integration> {
      const r = await gql<{ rotateIntegrationSigningSecret: { __typename: string; data: Integration } }>(ROTATE, { integrationId: id, overlapHours });
      expect(r.rotateIntegrationSigningSecret.__typename).toBe('MutationRotateIntegrationSigningSecretSuccess');
      return r.rotateIntegrationSigningSecret.data;
    }
    async function post(message: string) {
      const res = await fetch(channel.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event_name: 'test', message, status: 'success', username: 'tester' }),
      });
      expect(res.status).toBe(202);
    }
    /** The output call that carried `message`. */
    const outputOf = (message: string) => until(() => calls('/out').find((r) => (r.json as { message?: string }).message === message), 15_000, `the output call of "${message}"`);

    beforeAll(async () => {
      server = await startServer((req, res) => {
        const path = req.url.split('?')[0];
        if (path === '/out.json') return json(res, 200, realWorldOutput(`${server.url}/out`));
        if (path === '/modifier.json') {
          const spec = documentedModifier(`${server.url}/modify`);
          return json(res, 200, { data: { ...spec.data, slash_commands: [{ command: '/echo', description: 'Echoes', url: `${server.url}/cmd` }] } });
        }
        if (path === '/cmd') return json(res, 200, { message: `echo: ${(req.json as { text: string }).text}` });
        if (path === '/interval.json') return json(res, 200, documentedInterval(`${server.url}/tick`, '* * * * * *'));
        if (path === '/modify') return json(res, 200, { message: `${(req.json as { message: string }).message}!` });
        if (path === '/out' && (req.json as { message?: string }).message === 'flaky!' && flaky++ === 0) return json(res, 500, { error: 'once' });
        return json(res, 202, { status: 'accepted' });
      });
      // Signing is tested here, not the modifier's 1 s budget: on a loaded machine a modifier past it leaves the
      // message as posted ("flaky", not "flaky!"), and the calls these tests wait for never come.
      t = await startTestApp(db, { AGENDA_PROCESS_EVERY_MS: '200', MODIFIER_BUDGET_MS: '10000' });
      orgId = await createOrg(t, 'Signed');
      channel = await createChannel(t, orgId, 'general');
    });
    afterAll(async () => {
      await t?.close();
      await server?.close();
    });

    let output: Integration;
    let modifier: Integration;

    it('shows a whsec_ secret once, on addIntegration, and its last four characters after', async () => {
      output = await add('/out.json');
      modifier = await add('/modifier.json');
      expect(output.signingSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(output.signingSecret!.slice(6), 'base64')).toHaveLength(32);
      expect(output.signingSecretHint).toBe(output.signingSecret!.slice(-4));
      expect(output.signingSecret).not.toBe(modifier.signingSecret);
      const read = await gql<{ integration: Integration }>(READ, { id: output.id });
      expect(read.integration).toEqual({ signingSecret: null, signingSecretHint: output.signingSecret!.slice(-4) });
    });

    it('signs output and modifier calls; the receiver verifies them with standardwebhooks', async () => {
      await gql(ENABLE, { integrationId: modifier.id, channelId: channel.id });
      await gql(ENABLE, { integrationId: output.id, channelId: channel.id });
      await post('hello');
      const out = await outputOf('hello!');
      expect(verify(output.signingSecret!, out)).toMatchObject({ message: 'hello!', channel_id: channel.id });
      expect(() => verify(modifier.signingSecret!, out)).toThrow();
      const modify = calls('/modify').at(-1)!;
      expect(verify(modifier.signingSecret!, modify)).toMatchObject({ message: 'hello', channel_id: channel.id });
      expect(Number(out.headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1);
      expect(out.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      // webhook-id is the delivery's id, as Channel.deliveries shows it.
      const deliveries = await gql<{ channel: { deliveries: { edges: { node: { id: string } }[] } } }>(DELIVERIES, { id: channel.id });
      expect(deliveries.channel.deliveries.edges.map((e) => e.node.id)).toContain(out.headers['webhook-id']);
    });

    it('keeps the webhook-id of a retried delivery and signs the retry afresh', async () => {
      await post('flaky');
      await until(() => calls('/out').filter((r) => (r.json as { message?: string }).message === 'flaky!').length >= 2 || null, 20_000, 'the retry');
      const [first, second] = calls('/out').filter((r) => (r.json as { message?: string }).message === 'flaky!');
      expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
      expect(Number(second!.headers['webhook-timestamp'])).toBeGreaterThan(Number(first!.headers['webhook-timestamp']));
      expect(verify(output.signingSecret!, first!)).toBeTruthy();
      expect(verify(output.signingSecret!, second!)).toBeTruthy();
      const deliveries = await gql<{ channel: { deliveries: { edges: { node: { id: string; attempt: number; status: string } }[] } } }>(DELIVERIES, { id: channel.id });
      const attempts = deliveries.channel.deliveries.edges.map((e) => e.node);
      // The id is the first attempt's row id; the second attempt is a row of its own.
      expect(attempts.find((a) => a.id === first!.headers['webhook-id'])).toMatchObject({ attempt: 1, status: 'retried' });
    }, 30_000);

    it('signs with both secrets during a rotation overlap, then with the new one only', async () => {
      const old = output.signingSecret!;
      const rotated = await rotate(output.id, 1);
      expect(rotated.signingSecret).toMatch(/^whsec_/);
      expect(rotated.signingSecret).not.toBe(old);
      expect(rotated.signingSecretHint).toBe(rotated.signingSecret!.slice(-4));
      expect(new Date(rotated.previousSigningSecretExpiresAt!).getTime()).toBeGreaterThan(Date.now() + 3_500_000);
      await post('overlap');
      const during = await outputOf('overlap!');
      expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(verify(rotated.signingSecret!, during)).toBeTruthy();
      expect(verify(old, during)).toBeTruthy();

      const again = await rotate(output.id, 0);
      expect(again.previousSigningSecretExpiresAt).toBeNull();
      await post('after');
      const after = await outputOf('after!');
      expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
      expect(verify(again.signingSecret!, after)).toBeTruthy();
      expect(() => verify(rotated.signingSecret!, after)).toThrow();
      expect(() => verify(old, after)).toThrow();
      // Tampered bodies and stale timestamps fail as the library says.
      expect(() => new Webhook(again.signingSecret!).verify(after.body.replace('after', 'afTer'), after.headers as Record<string, string>)).toThrow();
      output = again;
    });

    it('signs slash-command calls with the integration that declares the command', async () => {
      const r = await gql<{ sendMessage: { __typename: string; data: { message: string } } }>(SEND, { channelId: channel.id, message: '/echo ping' });
      expect(r.sendMessage).toMatchObject({ __typename: 'MutationSendMessageSuccess', data: { message: 'echo: ping!' } }); // the channel's modifier applies to the answer too
      const call = calls('/cmd').at(-1)!;
      expect(verify(modifier.signingSecret!, call)).toMatchObject({ command: '/echo', text: 'ping' });
      const commands = await gql<{ channel: { deliveries: { edges: { node: { id: string } }[] } } }>(COMMANDS, { id: channel.id });
      expect(commands.channel.deliveries.edges.map((e) => e.node.id)).toContain(call.headers['webhook-id']);
    });

    it('signs ticks; the receiver verifies them with standardwebhooks', async () => {
      await gql(DISABLE, { integrationId: modifier.id, channelId: channel.id });
      const interval = await add('/interval.json');
      await gql(ENABLE, { integrationId: interval.id, channelId: channel.id });
      const tick = await until(() => calls('/tick')[0], 15_000, 'a tick');
      await gql(DISABLE, { integrationId: interval.id, channelId: channel.id });
      expect(verify(interval.signingSecret!, tick)).toMatchObject({ channel_id: channel.id });
      expect(() => verify(output.signingSecret!, tick)).toThrow();
    });
  });
}
