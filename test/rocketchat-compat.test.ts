/**
 * Rocket.Chat compatibility through the real doors: incoming scripts fed GitHub, GitLab and Jira payloads,
 * Rocket.Chat's message model (alias, avatar or emoji, attachments, trimmed text) on GraphQL and on a
 * graphql-ws subscription, channel override refused, outgoing scripts using Store, s and fetch, and a
 * bot reply made of attachments only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { graphql } from './gql/index.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './support/app.js';
import { json, startServer, type LocalServer } from './support/http-server.js';
import { createChannel, createOrg } from './support/seed.js';
import { databases } from './support/services.js';
import { githubPush, githubScript, gitlabMergeRequest, gitlabScript, jiraIssueCreated, jiraScript } from './fixtures/rocketchat-webhooks.js';

const ViewerId = graphql(`query RcCompatViewer { viewer { id } }`);

const Messages = graphql(`
  query RcCompatMessages($channelId: ID!) {
    messages(channelId: $channelId, first: 100) {
      edges {
        node {
          id message username alias avatar emoji source
          attachments { title titleLink text pretext color authorName authorLink authorIcon imageUrl ts collapsed fields { title value short } raw }
        }
      }
    }
  }
`);

const Send = graphql(`
  mutation RcCompatSend($channelId: ID!, $message: String!) {
    sendMessage(input: { channelId: $channelId, message: $message }) { __typename ... on MutationSendMessageSuccess { data { id } } ... on Error { message } }
  }
`);

type Auth = { token: string; userId: string; org?: string };

async function call(t: TestApp, method: string, path: string, body: unknown, auth: Auth) {
  const headers: Record<string, string> = { 'x-auth-token': auth.token, 'x-user-id': auth.userId };
  if (auth.org) headers['x-organisation-id'] = auth.org;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${t.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}

async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

for (const db of databases) {
  describe(`Rocket.Chat compatibility (${db})`, () => {
    let t: TestApp;
    let admin: Auth;
    let orgId: string;
    let general: { id: string };
    let random: { id: string };

    const messagesOf = async (channelId: string) => (await t.gql(Messages, { channelId })).messages.edges.map((e) => e.node);
    const incoming = async (body: Record<string, unknown>) => {
      const created = await call(t, 'POST', '/api/v1/integrations.create', { type: 'webhook-incoming', channel: '#general', scriptEnabled: false, enabled: true, ...body }, admin);
      expect(created.status, JSON.stringify(created.body)).toBe(200);
      const { _id: id, token } = created.body.integration;
      return {
        id,
        get: (query: string) => fetch(`${t.url}/hooks/${id}/${token}${query}`),
        post: (payload: unknown, headers: Record<string, string> = {}, query = '') =>
          fetch(`${t.url}/hooks/${id}/${token}${query}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(payload) }),
      };
    };
    const history = async (id: string) => (await call(t, 'GET', `/api/v1/integrations.history?id=${id}&count=20`, undefined, admin)).body.history;

    beforeAll(async () => {
      t = await startTestApp(db);
      orgId = await createOrg(t, 'Compat');
      admin = { token: ADMIN_TOKEN, userId: (await t.gql(ViewerId)).viewer!.id, org: orgId };
      general = await createChannel(t, orgId, 'general');
      random = await createChannel(t, orgId, 'random');
    });
    afterAll(() => t.close());

    it("maps a GitHub push through a GitHub script to text and attachments, with the sender as alias and avatar", async () => {
      const hook = await incoming({ username: 'github', name: 'github', scriptEnabled: true, script: githubScript, emoji: ':octocat:' });
      const res = await hook.post(githubPush.body, githubPush.headers);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ success: true });
      const posted = (await messagesOf(general.id)).at(-1)!;
      expect(posted).toMatchObject({
        // Trimmed as Rocket.Chat trims; the script's `username` is the shown name, the author stays the integration's.
        message: 'monalisa pushed 2 commits to [octo-org/switchboard:main](https://github.com/octo-org/switchboard/compare/6113728f27ae...0d1a26e67d8f)',
        username: 'github',
        alias: 'monalisa',
        avatar: 'https://avatars.githubusercontent.com/u/583231?v=4',
        // An avatar given by the script wins over the integration's emoji: one or the other, as Rocket.Chat.
        emoji: null,
        source: 'rocketchat-incoming',
      });
      expect(posted.attachments).toHaveLength(1);
      const [attachment] = posted.attachments;
      expect(attachment).toMatchObject({
        title: 'octo-org/switchboard — main',
        titleLink: githubPush.body.compare,
        color: '#24292e',
        authorName: 'monalisa',
        authorLink: 'https://github.com/monalisa',
        fields: [
          { title: 'Branch', value: 'main', short: true },
          // A number in a field is shown as text.
          { title: 'Commits', value: '2', short: true },
        ],
      });
      expect(attachment.text).toBe(
        '[b3fd2b6](https://github.com/octo-org/switchboard/commit/b3fd2b6f1f0d6d2e0a4e0c1c8a1e6f1f2b7c9d10) Fix the retry schedule - Monalisa Octocat\n' +
          '[0d1a26e](https://github.com/octo-org/switchboard/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c) Document the &lt;script&gt; globals &amp; their limits - Hubot',
      );
      // Unknown keys are kept in storage and readable whole.
      expect(attachment.raw).toMatchObject({ github_delivery: githubPush.headers['x-github-delivery'], title_link: githubPush.body.compare });

      const unsupported = await hook.post({ zen: 'Keep it logically awesome.' }, { 'x-github-event': 'watch' });
      expect(unsupported.status).toBe(400);
      expect(await unsupported.json()).toEqual({ success: false, error: { success: false, message: 'Unsupported GitHub event: watch' } });
      const runs = await history(hook.id);
      expect(runs[1]).toMatchObject({ step: 'finished', scriptLogs: ['log: github event push'] });
    });

    it('maps a GitLab merge request event, with the alias and emoji the script sets', async () => {
      const hook = await incoming({ username: 'gitlab', name: 'gitlab', scriptEnabled: true, script: gitlabScript, avatar: 'https://gitlab.example.com/logo.png' });
      expect((await hook.post(gitlabMergeRequest.body, gitlabMergeRequest.headers)).status).toBe(200);
      const posted = (await messagesOf(general.id)).at(-1)!;
      expect(posted).toMatchObject({
        message: 'Opened merge request [!1 MS-Viewport](https://gitlab.example.com/gitlabhq/gitlab-test/-/merge_requests/1) in gitlabhq/gitlab-test',
        alias: 'Administrator (GitLab)',
        emoji: ':gitlab:',
        avatar: null,
      });
      expect(posted.attachments[0]).toMatchObject({
        title: '!1 MS-Viewport',
        text: 'Adds the viewport meta tag & its test',
        color: '#1aaa55',
        authorIcon: gitlabMergeRequest.body.user.avatar_url,
        fields: [
          { title: 'Source → target', value: 'ms-viewport → master', short: false },
          { title: 'Labels', value: 'API', short: true },
          { title: 'State', value: 'opened', short: true },
        ],
      });
      const wrongToken = await hook.post(gitlabMergeRequest.body, { ...gitlabMergeRequest.headers, 'x-gitlab-token': 'guess' });
      expect(await wrongToken.json()).toEqual({ success: false, error: { success: false, message: 'bad token' } });
    });

    it("maps a Jira issue_created event to an attachments-only message (an attachment's msg becomes its trimmed text)", async () => {
      const hook = await incoming({ username: 'jira', name: 'jira', scriptEnabled: true, script: jiraScript, alias: 'Jira Cloud' });
      expect((await hook.post(jiraIssueCreated.body, jiraIssueCreated.headers)).status).toBe(200);
      const posted = (await messagesOf(general.id)).at(-1)!;
      expect(posted).toMatchObject({ message: '', alias: 'Mia Krystof', avatar: 'https://avatar-management.example/48.png' });
      const [attachment] = posted.attachments;
      expect(attachment).toMatchObject({
        authorName: 'Mia Krystof created bug',
        title: 'OPS-42: Outgoing webhooks retry forever on 500',
        titleLink: 'https://acme.atlassian.net/browse/OPS-42',
        color: '#f15c75',
        ts: new Date(jiraIssueCreated.body.timestamp).toISOString(),
        fields: [
          { title: 'Priority', value: 'High', short: true },
          { title: 'Status', value: 'To Do', short: true },
          { title: 'Assignee', value: 'Unassigned', short: true },
          { title: 'Labels', value: 'webhooks, rocketchat', short: true },
        ],
      });
      expect(attachment.text).toMatch(/^Steps: # create an outgoing webhook # answer 500 It never stops retrying, although \*retryCount\* is 6\. x+\.\.\.$/);
      expect(attachment.text).toHaveLength(120);
      expect((attachment.raw as Record<string, unknown>).msg).toBeUndefined();
    });

    it("takes Rocket.Chat's presentation fields from a plain hook: username over alias over the integration's, icon_url over avatar, and trims the text", async () => {
      const hook = await incoming({ username: 'plain', name: 'plain', alias: 'Plain Hook', emoji: ':ghost:' });
      await hook.post({ text: '  \n  deploy finished  \n ' });
      await hook.post({ text: 'named', alias: 'Given Alias', icon_emoji: ':rocket:', emoji: ':smirk:' });
      await hook.post({ text: 'as user', username: 'ci-bot', alias: 'ignored', icon_url: 'https://ci.example/bot.png', avatar: 'https://ci.example/other.png' });
      const last = (await messagesOf(general.id)).slice(-3);
      expect(last.map(({ message, username, alias, avatar, emoji }) => ({ message, username, alias, avatar, emoji }))).toEqual([
        { message: 'deploy finished', username: 'plain', alias: 'Plain Hook', avatar: null, emoji: ':ghost:' },
        { message: 'named', username: 'plain', alias: 'Given Alias', avatar: null, emoji: ':rocket:' },
        { message: 'as user', username: 'plain', alias: 'ci-bot', avatar: 'https://ci.example/bot.png', emoji: null },
      ]);
    });

    it('refuses garbage attachments and presentation fields with a 400 naming the field, storing nothing', async () => {
      const hook = await incoming({ username: 'strict', name: 'strict' });
      const before = (await messagesOf(general.id)).length;
      const cases: [unknown, string][] = [
        [{ text: 'x', attachments: 'not a list' }, 'attachments must be an array of objects'],
        [{ text: 'x', attachments: [{ title: 'ok' }, 7] }, 'attachments.1 must be an object'],
        [{ text: 'x', attachments: [{ title: 'ok', fields: { title: 'a' } }] }, 'attachments.0.fields must be an array of objects'],
        [{ text: 'x', attachments: [{ fields: [{ title: 'a' }, 'b'] }] }, 'attachments.0.fields.1 must be an object'],
        [{ text: 'x', attachments: Array.from({ length: 101 }, () => ({})) }, 'attachments holds at most 100 items'],
        [{ text: 'x', attachments: [{ text: 'y'.repeat(140 * 1024) }] }, 'attachments are larger than 131072 bytes as JSON'],
        [{ text: 'x', alias: { name: 'object' } }, 'alias must be a string'],
        [{ text: { nested: true } }, 'text must be a string'],
        [{ text: '   ', attachments: [] }, 'text is required (or attachments)'],
      ];
      for (const [payload, error] of cases) {
        const res = await hook.post(payload);
        expect(res.status, error).toBe(400);
        expect(await res.json(), error).toEqual({ success: false, error, errorType: 'invalid-params' });
      }
      expect((await messagesOf(general.id)).length).toBe(before);
      // A script's garbage is refused the same way, and the history says why.
      const scripted = await incoming({ username: 's', name: 's', scriptEnabled: true, script: "class Script { process_incoming_request() { return { content: { text: 'x', attachments: 'oops' } }; } }" });
      const res = await scripted.post({});
      expect(await res.json()).toEqual({ success: false, error: 'attachments must be an array of objects', errorType: 'invalid-params' });
      expect((await history(scripted.id))[0]).toMatchObject({ step: 'invalid-message', error: true, errorStack: 'attachments must be an array of objects' });
    });

    it('refuses a call that asks for another channel, in the body or the query, as Rocket.Chat does', async () => {
      const hook = await incoming({ username: 'pinned', name: 'pinned' });
      const before = { general: (await messagesOf(general.id)).length, random: (await messagesOf(random.id)).length };
      const refused = { success: false, error: 'overriding destination channel is disabled for this integration' };
      for (const [payload, query] of [
        [{ text: 'to random', channel: '#random' }, ''],
        [{ text: 'to random by id', roomId: random.id }, ''],
        [{ text: 'to a person', channel: '@someone' }, ''],
        [{ text: 'to two', channel: ['#general', '#random'] }, ''],
        [{ text: 'by query' }, '?channel=%23random'],
      ] as [Record<string, unknown>, string][]) {
        const res = await hook.post(payload, {}, query);
        expect(res.status, JSON.stringify(payload)).toBe(400);
        expect(await res.json()).toEqual(refused);
      }
      const get = await hook.get('?text=hi&channel=%23random');
      expect(get.status).toBe(400);
      expect(await get.json()).toEqual(refused);
      // Naming its own channel is no override.
      expect((await hook.post({ text: 'to its own channel', channel: '#general' })).status).toBe(200);
      expect((await messagesOf(random.id)).length).toBe(before.random);
      expect((await messagesOf(general.id)).map((m) => m.message).slice(before.general)).toEqual(['to its own channel']);
      expect((await history(hook.id))[0]).toMatchObject({ step: 'override-refused', error: true });
      // A script answering with another channel is refused too.
      const scripted = await incoming({ username: 's2', name: 's2', scriptEnabled: true, script: "class Script { process_incoming_request() { return { content: { text: 'elsewhere', channel: '#random' } }; } }" });
      expect(await (await scripted.post({ text: 'hi' })).json()).toEqual(refused);
    });

    it('publishes alias, avatar, emoji and attachments to graphql-ws subscribers', async () => {
      const received: any[] = [];
      const client: Client = createClient({ url: t.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` }, lazy: false });
      let ready!: () => void;
      const started = new Promise<void>((r) => (ready = r));
      const dispose = client.subscribe(
        {
          query: 'subscription($id: ID!) { channelMessages(channelId: $id) { message alias avatar emoji attachments { title imageUrl color fields { title value short } } } }',
          variables: { id: random.id },
        },
        { next: (v) => v.data && received.push(v.data.channelMessages), error: () => undefined, complete: () => undefined },
      );
      client.on('connected', () => setTimeout(ready, 150));
      try {
        await started;
        const hook = await incoming({ username: 'live', name: 'live', channel: '#random', emoji: ':satellite:' });
        await hook.post({ alias: 'Live Feed', attachments: [{ title: 'Chart', image_url: 'https://charts.example/1.png', color: 'good', fields: [{ title: 'p99', value: 42, short: true }] }] });
        await until('the live message', () => received.length >= 1);
        expect(received[0]).toEqual({
          message: '',
          alias: 'Live Feed',
          avatar: null,
          emoji: ':satellite:',
          attachments: [{ title: 'Chart', imageUrl: 'https://charts.example/1.png', color: 'good', fields: [{ title: 'p99', value: '42', short: true }] }],
        });
      } finally {
        dispose();
        await client.dispose();
      }
    });

    it('runs an outgoing GitHub-style bot: Store keeps the last command across calls, s shapes the reply, the answer is posted', async () => {
      let api: LocalServer | undefined;
      try {
        api = await startServer((req, res) => {
          const state = new URL(req.url, 'http://x').searchParams.get('state') ?? 'open';
          json(res, 200, [
            { number: 12, state, title: 'Retry   schedule    fix', html_url: 'https://github.com/octo-org/switchboard/pull/12' },
            { number: 15, state, title: 'Docs for   script globals', html_url: 'https://github.com/octo-org/switchboard/pull/15' },
          ]);
        });
        const script = `
          class Script {
            prepare_outgoing_request({ request }) {
              let text = s.trim(request.data.text);
              if (text === '!gh pr again') {
                text = Store.get('lastCmd');
                if (!text) return { message: { text: 'Nothing to repeat yet' } };
              }
              const match = text.match(/^!gh pr\\s(ls|list)\\s*(open|closed|all)?$/);
              if (!match) return { message: { text: '**commands**\\n\`!gh pr ls [open|closed|all]\`' } };
              Store.set('lastCmd', text);
              Store.set('count', (Store.get('count') || 0) + 1);
              return { url: request.url + '/pulls' + (match[2] ? '?state=' + match[2] : ''), headers: request.headers, method: 'GET' };
            }
            process_outgoing_response({ request, response }) {
              const lines = response.content.map((pr) => '> ' + s.capitalize(pr.state) + ' [#' + pr.number + '](' + pr.html_url + ') - ' + s.clean(pr.title));
              return { content: { text: lines.join('\\n') + '\\n_call ' + Store.get('count') + '_', parseUrls: false } };
            }
          }`;
        const created = await call(
          t,
          'POST',
          '/api/v1/integrations.create',
          { type: 'webhook-outgoing', username: 'gh.bot', channel: '#general', scriptEnabled: true, script, name: 'gh', enabled: true, event: 'sendMessage', urls: [`${api.url}/repos/octo-org/switchboard`], triggerWords: ['!gh'] },
          admin,
        );
        expect(created.status).toBe(200);
        const id = created.body.integration._id;
        await t.gql(Send, { channelId: general.id, message: '!gh pr again' });
        await until('the nothing-yet answer', async () => (await messagesOf(general.id)).some((m) => m.message === 'Nothing to repeat yet'));
        await t.gql(Send, { channelId: general.id, message: '!gh pr ls closed' });
        const first = '> Closed [#12](https://github.com/octo-org/switchboard/pull/12) - Retry schedule fix\n> Closed [#15](https://github.com/octo-org/switchboard/pull/15) - Docs for script globals\n_call 1_';
        await until('the first listing', async () => (await messagesOf(general.id)).some((m) => m.message === first));
        // A new isolate runs each call: the command comes back from the integration's Store.
        await t.gql(Send, { channelId: general.id, message: '!gh pr again' });
        await until('the repeated listing', async () => (await messagesOf(general.id)).some((m) => m.message === first.replace('_call 1_', '_call 2_')));
        expect(api.requests.map((r) => r.url)).toEqual(['/repos/octo-org/switchboard/pulls?state=closed', '/repos/octo-org/switchboard/pulls?state=closed']);
        const reply = (await messagesOf(general.id)).find((m) => m.message === first)!;
        expect(reply).toMatchObject({ username: 'gh.bot', source: 'rocketchat-outgoing', alias: null });

        // Changing the integration starts its Store afresh, as Rocket.Chat recompiles the script.
        await call(t, 'PUT', '/api/v1/integrations.update', { type: 'webhook-outgoing', integrationId: id, name: 'gh2' }, admin);
        const count = (await messagesOf(general.id)).filter((m) => m.message === 'Nothing to repeat yet').length;
        await t.gql(Send, { channelId: general.id, message: '!gh pr again' });
        await until('the Store emptied', async () => (await messagesOf(general.id)).filter((m) => m.message === 'Nothing to repeat yet').length === count + 1);
        await call(t, 'POST', '/api/v1/integrations.remove', { type: 'webhook-outgoing', integrationId: id }, admin);
      } finally {
        await api?.close();
      }
    });

    it('lets outgoing scripts await fetch/serverFetch through the outbound client, each call in the history, within the 3 s budget', async () => {
      let api: LocalServer | undefined;
      try {
        api = await startServer(async (req, res) => {
          if (req.url.startsWith('/slow')) {
            await new Promise((r) => setTimeout(r, 5_000));
            return json(res, 200, {});
          }
          if (req.url.startsWith('/weather')) return json(res, 200, { city: 'Lagos', tempC: 31, icon: 'https://weather.example/sun.png' });
          if (req.method === 'POST' && req.url === '/audit') return json(res, 201, { stored: req.json });
          json(res, 404, { error: 'not found' });
        });
        const script = `
          class Script {
            async prepare_outgoing_request({ request }) {
              const text = request.data.text;
              if (text === '!slow') { await fetch(request.url + '/slow'); return { message: { text: 'never' } }; }
              if (text === '!bad') {
                try { await fetch('file:///etc/passwd'); } catch (e) { return { message: { text: 'refused: ' + e.message } }; }
              }
              const weather = await serverFetch(request.url + '/weather?city=lagos&api_key=s3cret', { headers: { accept: 'application/json' } });
              const body = await weather.json();
              const audit = await fetch(request.url + '/audit', { method: 'POST', body: { asked: text, by: request.data.user_name } });
              const echoed = await audit.json();
              return {
                message: {
                  text: '',
                  attachments: [{
                    title: 'Weather in ' + body.city,
                    text: body.tempC + ' °C (' + weather.status + ' ' + weather.headers.get('content-type') + ', audit ' + audit.status + ' ' + echoed.stored.asked + ')',
                    image_url: body.icon,
                  }],
                },
              };
            }
          }`;
        const created = await call(
          t,
          'POST',
          '/api/v1/integrations.create',
          { type: 'webhook-outgoing', username: 'weather.bot', channel: '#random', scriptEnabled: true, script, name: 'weather', enabled: true, event: 'sendMessage', urls: [api.url], triggerWords: ['!'] },
          admin,
        );
        const id = created.body.integration._id;
        await t.gql(Send, { channelId: random.id, message: '!weather' });
        const posted = await until('the weather', async () => (await messagesOf(random.id)).find((m) => m.attachments[0]?.title === 'Weather in Lagos'));
        expect(posted).toMatchObject({ message: '', username: 'weather.bot' });
        expect(posted.attachments[0]).toMatchObject({ text: '31 °C (200 application/json, audit 201 !weather)', imageUrl: 'https://weather.example/sun.png' });
        expect(api.requests.find((r) => r.url === '/audit')?.json).toEqual({ asked: '!weather', by: 'admin' });
        const [run] = await history(id);
        expect(run.scriptHttpCalls).toEqual([
          { method: 'GET', url: `${api.url}/weather?city=lagos&api_key=***`, status: 200, ms: expect.any(Number) },
          { method: 'POST', url: `${api.url}/audit`, status: 201, ms: expect.any(Number) },
        ]);

        await t.gql(Send, { channelId: random.id, message: '!bad' });
        await until('the refusal', async () => (await messagesOf(random.id)).some((m) => m.message === 'refused: fetch: only http and https URLs can be fetched, not file:'));

        // Awaiting a server slower than the budget stops the script at 3 s, the call included.
        const started = Date.now();
        await t.gql(Send, { channelId: random.id, message: '!slow' });
        const slow = await until('the stopped run', async () => (await history(id)).find((h: { errorStack?: string }) => h.errorStack === 'script exceeded the 3000 ms time limit'), 8_000);
        expect(Date.now() - started).toBeLessThan(4_500);
        expect(slow.scriptHttpCalls).toEqual([expect.objectContaining({ method: 'GET', url: `${api.url}/slow`, status: null })]);
        expect((await messagesOf(random.id)).some((m) => m.message === 'never')).toBe(false);
        await call(t, 'POST', '/api/v1/integrations.remove', { type: 'webhook-outgoing', integrationId: id }, admin);
      } finally {
        await api?.close();
      }
    });

    it('posts a bot reply made of attachments only, and sends the alias of the message that triggered it', async () => {
      let bot: LocalServer | undefined;
      try {
        bot = await startServer((req, res) => {
          const body = req.json as { text: string };
          if (body.text.startsWith('!nothing')) return json(res, 200, { text: '   ' });
          json(res, 200, { attachments: [{ image_url: 'https://media.giphy.example/cat.gif', title: 'cat' }], username: 'Giphy' });
        });
        const created = await call(
          t,
          'POST',
          '/api/v1/integrations.create',
          { type: 'webhook-outgoing', username: 'gif.bot', channel: '#general', scriptEnabled: false, name: 'gif', enabled: true, event: 'sendMessage', urls: [`${bot.url}/gif`], triggerWords: ['!gif', '!nothing'] },
          admin,
        );
        const hook = await incoming({ username: 'relay', name: 'relay', alias: 'Relay' });
        expect((await hook.post({ text: '!gif cat' })).status).toBe(200);
        const reply = await until('the gif reply', async () => (await messagesOf(general.id)).find((m) => m.attachments[0]?.imageUrl === 'https://media.giphy.example/cat.gif'));
        expect(reply).toMatchObject({ message: '', username: 'gif.bot', alias: 'Giphy', source: 'rocketchat-outgoing' });
        expect(bot.requests[0].json).toMatchObject({ text: '!gif cat', alias: 'Relay', bot: true, user_name: 'relay' });
        // An answer with nothing to show posts nothing.
        await t.gql(Send, { channelId: general.id, message: '!nothing here' });
        await until('the empty answer', () => bot!.requests.length === 2);
        await new Promise((r) => setTimeout(r, 300));
        expect((await messagesOf(general.id)).filter((m) => m.source === 'rocketchat-outgoing' && m.username === 'gif.bot')).toHaveLength(1);
        await call(t, 'POST', '/api/v1/integrations.remove', { type: 'webhook-outgoing', integrationId: created.body.integration._id }, admin);
      } finally {
        await bot?.close();
      }
    });
  });
}
