import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './support/app.js';
import { json, startServer, type LocalServer } from './support/http-server.js';
import { rest } from './support/rest.js';
import { addMember, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';

const SlackInstallation = graphql(`
  query RestSlackInstallation($id: ID!) {
    organisation(id: $id) { id slackInstallation { id accessToken teamId teamName channel channelId configurationUrl webhookUrl installedById } }
  }
`);

const CLIENT_ID = '1234567890.0987654321';
const CLIENT_SECRET = 'slack-client-secret-for-tests';
const ACCESS_TOKEN = 'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy';
const WEBHOOK_URL = 'https://hooks.slack.com/services/T0001/B0001/XXXXXXXXXXXXXXXXXXXXXXXX';

/** Slack's oauth.v2.access, played by a real local server: checks the client credentials and the code. */
function slackApi() {
  const spent = new Set<string>();
  return startServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/oauth.v2.access') return json(res, 404, { ok: false, error: 'unknown_method' });
    if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) return json(res, 200, { ok: false, error: 'invalid_form_data' });
    const form = new URLSearchParams(req.body);
    if (form.get('client_id') !== CLIENT_ID) return json(res, 200, { ok: false, error: 'invalid_client_id' });
    if (form.get('client_secret') !== CLIENT_SECRET) return json(res, 200, { ok: false, error: 'bad_client_secret' });
    const code = form.get('code') ?? '';
    if (!code.startsWith('your_oauth_code_here') || spent.has(code)) return json(res, 200, { ok: false, error: 'invalid_code' });
    spent.add(code);
    json(res, 200, {
      ok: true,
      access_token: ACCESS_TOKEN,
      token_type: 'bot',
      scope: 'incoming-webhook,chat:write',
      bot_user_id: 'U0KRQLJ9H',
      app_id: 'A0KRD7HC3',
      team: { name: 'Slack Pickleball Team', id: 'T9TK3CUKW' },
      enterprise: null,
      authed_user: { id: 'U1234', scope: 'chat:write', access_token: 'xoxp-1234', token_type: 'user' },
      incoming_webhook: { channel: '#general', channel_id: 'C0KQJ4RQM', configuration_url: 'https://pickleball.slack.com/services/B0001', url: WEBHOOK_URL },
    });
  });
}

const slackEnv = (slack: LocalServer, secret = CLIENT_SECRET) => ({ SLACK_API_URL: slack.url, SLACK_CLIENT_ID: CLIENT_ID, SLACK_CLIENT_SECRET: secret });

for (const db of databases) {
  describe(`REST Slack OAuth exchange (${db})`, () => {
    let t: TestApp;
    let slack: LocalServer;
    let orgId: string;
    let otherOrgId: string;
    let stranger: { id: string; token: string };
    let member: { id: string; token: string };

    beforeAll(async () => {
      slack = await slackApi();
      t = await startTestApp(db, slackEnv(slack));
      orgId = await createOrg(t, 'Slack users');
      stranger = await createUser(t, `stranger-${db}`);
      member = await createUser(t, `member-${db}`);
      await addMember(t, orgId, member.id, 'MEMBER');
      otherOrgId = await createOrg(t, 'Elsewhere', stranger.token);
    });
    afterAll(async () => {
      await t?.close();
      await slack?.close();
    });

    it('POST token-exchg exchanges the documented body, stores the token encrypted, and GET shows it masked', async () => {
      const before = slack.requests.length;
      const r = await rest(t, 'POST', `/slack/organisations/${orgId}/token-exchg`, { oauth_code: 'your_oauth_code_here' });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        status: 'success',
        status_code: 200,
        message: 'Slack OAuth token exchange successful',
        data: {
          access_token: '********bqgy',
          incoming_webhook: { channel: '#general', channel_id: 'C0KQJ4RQM', configuration_url: 'https://pickleball.slack.com/services/B0001', url: WEBHOOK_URL },
        },
      });
      // Slack got our client credentials and the caller's code, form-encoded.
      expect(slack.requests.length).toBe(before + 1);
      const sent = new URLSearchParams(slack.requests.at(-1)!.body);
      expect(Object.fromEntries(sent)).toEqual({ code: 'your_oauth_code_here', client_id: CLIENT_ID, client_secret: CLIENT_SECRET });

      const got = await rest(t, 'GET', `/slack/organisations/${orgId}`);
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({
        status: 'success',
        status_code: 200,
        message: 'Slack access info fetched successfully',
        data: {
          organisation_id: orgId,
          access_token: '********bqgy',
          team_id: 'T9TK3CUKW',
          team_name: 'Slack Pickleball Team',
          channel: '#general',
          channel_id: 'C0KQJ4RQM',
          configuration_url: 'https://pickleball.slack.com/services/B0001',
          url: WEBHOOK_URL,
        },
      });
      expect(got.body.data.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(got.body.data.user_id).toMatch(/^[0-9a-f-]{36}$/);
      for (const key of ['created_at', 'updated_at']) expect(new Date(got.body.data[key]).toString()).not.toBe('Invalid Date');
      expect(JSON.stringify(r.body) + JSON.stringify(got.body)).not.toContain(ACCESS_TOKEN);

      // The same installation through GraphQL, the token masked there too.
      const g = await t.gql(SlackInstallation, { id: orgId });
      expect(g.organisation?.slackInstallation).toEqual({
        id: got.body.data.id,
        accessToken: '********bqgy',
        teamId: 'T9TK3CUKW',
        teamName: 'Slack Pickleball Team',
        channel: '#general',
        channelId: 'C0KQJ4RQM',
        configurationUrl: 'https://pickleball.slack.com/services/B0001',
        webhookUrl: WEBHOOK_URL,
        installedById: got.body.data.user_id,
      });
      expect((await t.gql(SlackInstallation, { id: otherOrgId }, stranger.token)).organisation?.slackInstallation).toBeNull();

      // At rest: neither the token nor the webhook URL is stored in clear.
      const rows = await t.app.orm.em.fork().getConnection().execute('select * from slack_installations');
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(ACCESS_TOKEN);
      expect(JSON.stringify(rows)).not.toContain(WEBHOOK_URL);

      // Members may read it; another organisation's owner may not.
      expect((await rest(t, 'GET', `/slack/organisations/${orgId}`, undefined, member.token)).body.data.access_token).toBe('********bqgy');
      expect((await rest(t, 'GET', `/slack/organisations/${orgId}`, undefined, stranger.token)).status).toBe(404);
    });

    it('answers 409 when the organisation already has an installation, without spending the code', async () => {
      const before = slack.requests.length;
      const r = await rest(t, 'POST', `/slack/organisations/${orgId}/token-exchg`, { oauth_code: 'your_oauth_code_here-2' });
      expect(r.status).toBe(409);
      expect(r.body).toMatchObject({ status: 'error', status_code: 409, message: expect.stringMatching(/already/) });
      expect(slack.requests.length).toBe(before);
    });

    it('keeps one installation when two exchanges for an organisation race', async () => {
      const fresh = await createOrg(t, 'Racing');
      const path = `/slack/organisations/${fresh}/token-exchg`;
      const answers = await Promise.all([rest(t, 'POST', path, { oauth_code: 'your_oauth_code_here-race-1' }), rest(t, 'POST', path, { oauth_code: 'your_oauth_code_here-race-2' })]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
      const rows = await t.app.orm.em.fork().getConnection().execute(`select id from slack_installations where organisation_id = '${fresh}'`);
      expect(rows).toHaveLength(1);
    });

    it('refuses bad input, codes Slack refuses, unknown and other organisations, and anonymous callers', async () => {
      const fresh = await createOrg(t, 'No Slack yet');
      const path = `/slack/organisations/${fresh}/token-exchg`;
      const cases: [unknown, string][] = [
        [{}, 'oauth_code'],
        [{ oauth_code: 12345 }, 'oauth_code'],
        [{ oauth_code: null }, 'oauth_code'],
        [{ oauth_code: '   ' }, 'oauth_code'],
        [{ oauth_code: 'your_oauth_code_here-3', redirect_uri: 'not a url' }, 'redirect_uri'],
        [{ oauth_code: 'a-code-slack-does-not-know' }, 'oauth_code'],
      ];
      for (const [body, field] of cases) {
        const r = await rest(t, 'POST', path, body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.errors?.[0].field, JSON.stringify(r.body)).toBe(field);
      }
      const refused = await rest(t, 'POST', path, { oauth_code: 'a-code-slack-does-not-know' });
      expect(refused.body.message).toMatch(/invalid_code/);
      expect((await rest(t, 'POST', path, '{"oauth_code": "x"')).body).toEqual({ status: 'error', status_code: 400, message: 'request body is not valid JSON' });
      // Nothing was stored for it.
      expect((await rest(t, 'GET', `/slack/organisations/${fresh}`)).status).toBe(404);

      const valid = { oauth_code: 'your_oauth_code_here-4' };
      expect((await rest(t, 'POST', path, valid, null)).status).toBe(401);
      expect((await rest(t, 'POST', path, valid, 'sb_not_a_token')).status).toBe(401);
      expect((await rest(t, 'GET', `/slack/organisations/${orgId}`, undefined, null)).status).toBe(401);
      expect((await rest(t, 'POST', `/slack/organisations/${otherOrgId}/token-exchg`, valid)).status).toBe(404);
      expect((await rest(t, 'GET', `/slack/organisations/${otherOrgId}`)).status).toBe(404);
      expect((await rest(t, 'POST', `/slack/organisations/${randomUUID()}/token-exchg`, valid)).status).toBe(404);
      expect((await rest(t, 'GET', `/slack/organisations/${randomUUID()}`)).status).toBe(404);
      expect((await rest(t, 'POST', `/slack/organisations/${orgId}/token-exchg`, valid, member.token)).status).toBe(403);

      // A valid code still works afterwards.
      const okay = await rest(t, 'POST', path, valid);
      expect(okay.status).toBe(200);
    });

    it('answers 502 when Slack refuses the gateway credentials, is unreachable, or none are configured', async () => {
      const wrongSecret = await startTestApp(db, slackEnv(slack, 'not-the-secret'));
      const closed = await startServer(() => {});
      const closedUrl = closed.url;
      await closed.close();
      const unreachable = await startTestApp(db, { SLACK_API_URL: closedUrl, SLACK_CLIENT_ID: CLIENT_ID, SLACK_CLIENT_SECRET: CLIENT_SECRET });
      const unconfigured = await startTestApp(db, { SLACK_API_URL: slack.url });
      try {
        for (const [app, pattern] of [
          [wrongSecret, /bad_client_secret/],
          [unreachable, /could not be reached/],
          [unconfigured, /SLACK_CLIENT_ID/],
        ] as const) {
          const org = await createOrg(app, 'Slack');
          const r = await rest(app, 'POST', `/slack/organisations/${org}/token-exchg`, { oauth_code: 'your_oauth_code_here-5' });
          expect(r.status).toBe(502);
          expect(r.body.message).toMatch(pattern);
          expect(JSON.stringify(r.body)).not.toContain(CLIENT_SECRET);
          expect((await rest(app, 'GET', `/slack/organisations/${org}`)).status).toBe(404);
        }
      } finally {
        await wrongSecret.close();
        await unreachable.close();
        await unconfigured.close();
      }
    });
  });
}
