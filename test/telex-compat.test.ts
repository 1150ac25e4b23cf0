/**
 * Telex integrations as people wrote them, through the real doors. Local HTTP servers behave as the real
 * ones do: a modifier whose settings model takes only a string, number or boolean `default` (what a
 * pydantic `default: str | int | float | bool` accepts), a summariser that collects channel messages at
 * its target_url and reports on tick, a spec with a real published spec's small mistakes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './support/app.js';
import { json, serveJson, startServer, type LocalServer } from './support/http-server.js';
import { addIntegration, createChannel, createOrg } from './support/seed.js';
import { databases } from './support/services.js';
import { until, sleep } from './support/wait.js';

const Enable = graphql(`
  mutation CompatEnable($integrationId: ID!, $channelId: ID!) {
    enableIntegration(input: { integrationId: $integrationId, channelId: $channelId }) { __typename ... on Error { message } }
  }
`);
const SetChannelSetting = graphql(`
  mutation CompatSetChannelSetting($integrationId: ID!, $channelId: ID!, $label: String!, $value: JSON) {
    setChannelIntegrationSetting(input: { integrationId: $integrationId, channelId: $channelId, label: $label, value: $value }) {
      __typename
      ... on ValidationError { field message }
      ... on Error { message }
    }
  }
`);
const AddIntegration = graphql(`
  mutation CompatAdd($organisationId: ID!, $jsonUrl: String!) {
    addIntegration(input: { organisationId: $organisationId, jsonUrl: $jsonUrl }) {
      __typename
      ... on MutationAddIntegrationSuccess { data { id warnings settingsSchema { label default options } } }
      ... on ValidationError { field message }
      ... on Error { message }
    }
  }
`);
const Typed = graphql(`
  query CompatTyped($id: ID!, $channelId: ID) {
    integration(id: $id) { effectiveSettings(channelId: $channelId) { label value source } }
  }
`);
const Messages = graphql(`
  query CompatMessages($channelId: ID!) {
    messages(channelId: $channelId, first: 100) { edges { node { id message username eventName source } } }
  }
`);

/** Settings as a published Telex spec writes them: text defaults for lists and yes/no, a misspelt option. */
const SETTINGS = [
  { label: 'Greeting words', type: 'multi-select', required: true, default: 'world,happy', options: ['world', 'happy', 'sad'] },
  { label: 'Do you want to continue', type: 'checkbox', required: true, default: 'Yes' },
  { label: 'Alert Admin', type: 'multi-checkbox', required: true, default: 'Super-Admin', options: ['Super-Admin', 'Admin', 'Manager'] },
  { label: 'Provide Speed', type: 'number', required: true, default: 1000 },
  { label: 'Timezone', type: 'dropdown', required: false, default: 'Africa/lagos', options: ['Africa/Lagos', 'Europe/London'] },
  { label: 'Shout', type: 'checkbox', required: false, default: false, hint: 'kept as the spec wrote it' },
  { label: 'Sensitivity', type: 'radio', required: true, default: 'Low', options: [{ label: 'High', value: 'High' }, { label: 'Low', value: 'Low' }] },
  { label: 'Nickname', type: 'text', required: false, description: 'no default: the key stays out' },
];

function modifierSpec(targetUrl: string) {
  return {
    data: {
      date: { created_at: '2025-02-18', updated_at: '2025-02-18' },
      descriptions: { app_name: 'Greeter', app_description: 'Appends greetings', app_url: 'https://example.com', app_logo: 'https://example.com/l.png', background_color: '#fff' },
      integration_category: 'Communication & Collaboration',
      integration_type: 'modifier',
      is_active: true,
      author: 'someone',
      key_features: ['greets'],
      settings: SETTINGS,
      target_url: targetUrl,
    },
  };
}

/** The check a pydantic model `Setting(label: str, type: str, required: bool, default: str | int | float | bool = "")` makes. */
function pydanticProblem(body: unknown): string | null {
  const b = body as { message?: unknown; settings?: unknown };
  if (typeof b?.message !== 'string') return 'message: str expected';
  if (!Array.isArray(b.settings)) return 'settings: list expected';
  for (const [i, s] of b.settings.entries()) {
    const d = (s as { default?: unknown }).default;
    if (typeof s?.label !== 'string' || typeof s?.type !== 'string' || typeof s?.required !== 'boolean') return `settings.${i}: label/type/required`;
    if ('default' in s && !['string', 'number', 'boolean'].includes(typeof d)) return `settings.${i}.default: str | int | float | bool expected, got ${JSON.stringify(d)}`;
  }
  return null;
}

for (const db of databases) {
  describe(`Telex integrations as written (${db})`, () => {
    let t: TestApp;
    let orgId: string;
    const servers: LocalServer[] = [];

    beforeAll(async () => {
      t = await startTestApp(db, { AGENDA_PROCESS_EVERY_MS: '200' });
      orgId = await createOrg(t, 'Compat');
    });
    afterAll(async () => {
      await t.close();
      await Promise.all(servers.map((s) => s.close()));
    });

    const post = (channelId: string, body: Record<string, unknown>) =>
      fetch(`${t.url}/v1/webhooks/${channelId}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    it("sends every setting as the spec wrote it, with the value in force in the shape of the spec's default", async () => {
      const bodies: { settings: Record<string, unknown>[] }[] = [];
      const modifier = await startServer((req, res) => {
        const problem = pydanticProblem(req.json);
        if (problem) return json(res, 422, { detail: problem });
        const body = req.json as { message: string; settings: { label: string; default: string | number | boolean }[] };
        bodies.push(body);
        const words = String(body.settings.find((s) => s.label === 'Greeting words')?.default).split(',');
        json(res, 200, { message: `${body.message} (${words.join('+')})` });
      });
      const specs = await serveJson({ '/greeter.json': modifierSpec(`${modifier.url}/modify`) });
      servers.push(modifier, specs);
      const channel = await createChannel(t, orgId, 'greetings');
      const added = (await t.gql(AddIntegration, { organisationId: orgId, jsonUrl: `${specs.url}/greeter.json` })).addIntegration;
      if (added.__typename !== 'MutationAddIntegrationSuccess') throw new Error(JSON.stringify(added));
      // The option spelt in another letter case is read as the option, and said so.
      expect(added.data.warnings).toEqual([expect.stringMatching(/settings\[4\]\.default .*"Africa\/lagos".*"Africa\/Lagos"/)]);
      expect(added.data.settingsSchema.find((s) => s.label === 'Timezone')?.default).toBe('Africa/Lagos');
      expect((await t.gql(Enable, { integrationId: added.data.id, channelId: channel.id })).enableIntegration.__typename).toBe('MutationEnableIntegrationSuccess');

      expect((await post(channel.id, { event_name: 'e', username: 'u', status: 'success', message: 'hello' })).status).toBe(202);
      let stored = (await t.gql(Messages, { channelId: channel.id })).messages.edges.map((e) => e.node);
      expect(stored[0].message).toBe('hello (world+happy)');
      // Exactly the spec's entries (their own keys and option shapes), defaults as written but the option's spelling.
      expect(bodies[0].settings).toEqual(SETTINGS.map((s) => (s.label === 'Timezone' ? { ...s, default: 'Africa/Lagos' } : s)));

      // Values set through GraphQL go out in the shape of the spec's default, whatever shape they were set in.
      const set = async (label: string, value: unknown) =>
        expect((await t.gql(SetChannelSetting, { integrationId: added.data.id, channelId: channel.id, label, value })).setChannelIntegrationSetting.__typename).toBe(
          'MutationSetChannelIntegrationSettingSuccess',
        );
      await set('Greeting words', ['sad', 'World']);
      await set('Do you want to continue', false);
      await set('Alert Admin', 'admin, Manager');
      await set('Provide Speed', '250');
      await set('Shout', 'yes');
      expect((await post(channel.id, { event_name: 'e', username: 'u', status: 'success', message: 'again' })).status).toBe(202);
      stored = (await t.gql(Messages, { channelId: channel.id })).messages.edges.map((e) => e.node);
      expect(stored[1].message).toBe('again (sad+world)');
      const sent = Object.fromEntries(bodies[1].settings.map((s) => [s.label, s.default]));
      expect(sent).toMatchObject({ 'Greeting words': 'sad,world', 'Do you want to continue': 'No', 'Alert Admin': 'Admin,Manager', 'Provide Speed': 250, Shout: true });

      // GraphQL keeps the typed view for people.
      const typed = Object.fromEntries(
        (await t.gql(Typed, { id: added.data.id, channelId: channel.id })).integration!.effectiveSettings.map((s) => [s.label, [s.value, s.source]]),
      );
      expect(typed).toMatchObject({
        'Greeting words': [['sad', 'world'], 'CHANNEL'],
        'Do you want to continue': [false, 'CHANNEL'],
        'Provide Speed': [250, 'CHANNEL'],
        Timezone: ['Africa/Lagos', 'DEFAULT'],
      });
    });

    it('keeps odd but workable specs with warnings, and still refuses what cannot work, naming the field', async () => {
      const target = 'https://example.com/hook';
      const odd = modifierSpec(target);
      const oddData = odd.data as Record<string, unknown>;
      oddData.settings = [...SETTINGS, { label: 'Greeting words', type: 'text', default: 'dup' }, { label: 'Level', type: 'dropdown', default: 'a', options: 'a,b' }];
      oddData.key_features = 'one feature';
      oddData.tick_url = 'not a url';
      const outside = modifierSpec(target);
      outside.data.settings = [{ label: 'Timezone', type: 'dropdown', required: false, default: 'Mars/Olympus', options: ['Africa/Lagos'] }];
      const specs = await serveJson({ '/odd.json': odd, '/outside.json': outside });
      servers.push(specs);

      const added = (await t.gql(AddIntegration, { organisationId: orgId, jsonUrl: `${specs.url}/odd.json` })).addIntegration;
      if (added.__typename !== 'MutationAddIntegrationSuccess') throw new Error(JSON.stringify(added));
      expect(added.data.warnings).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^data\.tick_url "not a url" is not an http\(s\) URL: ignored$/),
          expect.stringMatching(/^data\.settings\[8\]\.label "Greeting words" appears twice/),
          expect.stringMatching(/^data\.settings\[9\]\.options is not a list/),
        ]),
      );
      // REST shows the same warnings.
      const rest = await fetch(`${t.url}/organisations/${orgId}/integrations`, { headers: { authorization: `Bearer ${t.token}` } });
      const restBody = (await rest.json()) as { data: { id: string; warnings: string[] }[] };
      expect(restBody.data.find((i) => i.id === added.data.id)?.warnings).toEqual(added.data.warnings);

      const refused = (await t.gql(AddIntegration, { organisationId: orgId, jsonUrl: `${specs.url}/outside.json` })).addIntegration;
      expect(refused).toMatchObject({ __typename: 'ValidationError', field: 'jsonUrl', message: expect.stringMatching(/data\.settings\[0\]\.default "Mars\/Olympus" is not one of the options/) });
    });

    it('an interval integration with a target_url collects channel messages there and reports on tick', async () => {
      const collected = new Map<string, string[]>();
      const summariser: LocalServer = await startServer((req, res) => {
        const path = req.url.split('?')[0];
        if (path === '/spec.json') {
          return json(res, 200, {
            data: {
              descriptions: { app_name: 'Summariser', app_description: 'Summarises a channel' },
              integration_type: 'interval',
              settings: [{ label: 'interval', type: 'text', required: true, default: '* * * * * *' }],
              tick_url: `${summariser.url}/tick`,
              target_url: `${summariser.url}/collect`,
            },
          });
        }
        const body = req.json as { channel_id: string; message?: string; return_url?: string };
        if (path === '/collect') {
          collected.set(body.channel_id, [...(collected.get(body.channel_id) ?? []), body.message!]);
          return json(res, 202, { status: 'accepted' });
        }
        if (path === '/tick') {
          json(res, 202, { status: 'accepted' });
          const messages = collected.get(body.channel_id) ?? [];
          if (!messages.length) return;
          collected.delete(body.channel_id);
          void fetch(body.return_url!, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ message: `${messages.length} messages: ${messages.join(' | ')}`, username: 'Summariser', event_name: 'Summary', status: 'success' }),
          });
          return;
        }
        json(res, 404, {});
      });
      servers.push(summariser);
      const channel = await createChannel(t, orgId, 'standup');
      const id = await addIntegration(t, orgId, `${summariser.url}/spec.json`);
      await t.gql(Enable, { integrationId: id, channelId: channel.id });

      for (const text of ['did the thing', 'fixed the bug']) {
        expect((await post(channel.id, { event_name: 'standup', username: 'ada', status: 'success', message: text })).status).toBe(202);
      }
      const summaries = async () => (await t.gql(Messages, { channelId: channel.id })).messages.edges.map((e) => e.node).filter((m) => m.eventName === 'Summary');
      // A tick comes every second: both messages are in one summary, or in two when a tick fell between the posts.
      const reported = async () => (await summaries()).flatMap((m) => m.message.replace(/^\d+ messages: /, '').split(' | '));
      await until(async () => (await reported()).length >= 2);
      expect((await reported()).sort()).toEqual(['did the thing', 'fixed the bug']);
      const written = await summaries();
      for (const s of written) expect(s).toMatchObject({ message: expect.stringMatching(/^\d+ messages: /), username: 'Summariser', source: 'tick' });
      // Its own summaries are not collected back (no summary of a summary on the next ticks).
      await sleep(2_500);
      expect(await summaries()).toHaveLength(written.length);
      expect(collected.get(channel.id) ?? []).toEqual([]);
    });

    it("answers respond.io's custom channel webhook with and without the trailing slash", async () => {
      for (const path of ['/custom/channel/webhook', '/custom/channel/webhook/']) {
        const res = await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' }, body: '{"channelId":"x","events":[]}' });
        expect(res.status, path).toBe(401);
      }
    });
  });
}
