/**
 * Rocket.Chat-compatible webhook integrations through GraphQL: the same integrations as the REST shim
 * (test/rocketchat.test.ts), created and changed with typed inputs, read with their history and per-URL health,
 * against real local HTTP servers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './support/app.js';
import { json, startServer, type LocalServer } from './support/http-server.js';
import { addMember, createChannel, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';
import { until } from './support/wait.js';

const FIELDS = `id type organisationId name enabled channels username alias emoji avatar scriptEnabled script hookUrl token
  event urls triggerWords triggerWordAnywhere retryFailedCalls retryCount retryDelay createdBy { id name } updatedBy { id name } createdAt updatedAt`;

const RESULT = `__typename
  ... on Error { message }
  ... on ValidationError { field }
  ... on NotFoundError { resource }`;

/** Create and update can also answer a script that does not compile. */
const SCRIPT_RESULT = `${RESULT} ... on InvalidScriptError { field line column }`;

const CREATE = `mutation RcgCreate($input: CreateWebhookIntegrationInput!) {
  createWebhookIntegration(input: $input) { ${SCRIPT_RESULT} ... on MutationCreateWebhookIntegrationSuccess { data { ${FIELDS} } } } }`;

const UPDATE = `mutation RcgUpdate($input: UpdateWebhookIntegrationInput!) {
  updateWebhookIntegration(input: $input) { ${SCRIPT_RESULT} ... on MutationUpdateWebhookIntegrationSuccess { data { ${FIELDS} } } } }`;

const REMOVE = `mutation RcgRemove($id: ID!) {
  removeWebhookIntegration(input: { id: $id }) { ${RESULT} ... on MutationRemoveWebhookIntegrationSuccess { data { id name } } } }`;

const ONE = `query RcgOne($id: ID!) { webhookIntegration(id: $id) { ${FIELDS}
  health { url health { state consecutiveFailures failingSince openUntil failureRate attempts failures lastError lastErrorAt } }
  history(first: 20) { edges { cursor node { id type step event url finished error errorMessage httpStatus scriptLogs deliveryId replayOf messageId } } pageInfo { hasNextPage endCursor } } } }`;

const LIST = `query RcgList($org: ID!, $type: WebhookIntegrationType, $first: Int, $after: String) { organisation(id: $org) {
  webhookIntegrations(type: $type, first: $first, after: $after) { totalCount edges { cursor node { id name type } } pageInfo { hasNextPage endCursor } } } }`;

const SEND = `mutation RcgSend($channelId: ID!, $message: String!) {
  sendMessage(input: { channelId: $channelId, message: $message }) { __typename ... on MutationSendMessageSuccess { data { id } } ... on Error { message } } }`;

const MESSAGES = `query RcgMessages($channelId: ID!) { messages(channelId: $channelId, first: 100) { edges { node { id message username source } } } }`;

const REPLAY = `mutation RcgReplay($id: ID!) { replayDelivery(input: { deliveryId: $id }) { __typename ... on MutationReplayDeliverySuccess { data { id replayOf } } ... on Error { message } } }`;

const RECOVER = `mutation RcgRecover($id: ID!, $since: DateTime!) { recoverWebhookIntegration(input: { integrationId: $id, since: $since }) {
  __typename ... on Error { message } ... on MutationRecoverWebhookIntegrationSuccess { data { count remaining runs { id replayOf url deliveryId } } } } }`;

const REENABLE = `mutation RcgReenable($id: ID!, $url: String!) { reenableWebhookIntegrationUrl(input: { integrationId: $id, url: $url }) {
  __typename ... on Error { message } ... on MutationReenableWebhookIntegrationUrlSuccess { data { url health { state consecutiveFailures openUntil } } } } }`;

const VIEWER = `query RcgViewer { viewer { id name } }`;

/** Circuit settings of this suite: two failures in a row open a URL's circuit, for a minute. */
const FAILURES = 2;

for (const db of databases) {
  describe(`Rocket.Chat integrations in GraphQL (${db})`, () => {
    let t: TestApp;
    let orgId: string;
    let general: { id: string };
    let admin: { id: string; name: string };
    const servers: LocalServer[] = [];

    const gql = (query: string, variables: Record<string, unknown> = {}, token?: string | null) => t.gqlData(query, variables, token);
    const create = async (input: Record<string, unknown>, token?: string) => (await gql(CREATE, { input: { organisationId: orgId, ...input } }, token)).createWebhookIntegration;
    const created = async (input: Record<string, unknown>, token?: string) => {
      const r = await create(input, token);
      expect(r.__typename, JSON.stringify(r)).toBe('MutationCreateWebhookIntegrationSuccess');
      return r.data;
    };
    const one = async (id: string, token?: string) => (await gql(ONE, { id }, token)).webhookIntegration;
    const messages = async (channelId: string) => (await gql(MESSAGES, { channelId })).messages.edges.map((e: { node: unknown }) => e.node);
    const rest = async (method: string, path: string, body?: unknown, org?: string) => {
      const res = await fetch(`${t.url}${path}`, {
        method,
        headers: { 'x-auth-token': ADMIN_TOKEN, 'x-user-id': admin.id, ...(org ? { 'x-organisation-id': org } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    };

    beforeAll(async () => {
      t = await startTestApp(db, { DELIVERY_CIRCUIT_FAILURES: String(FAILURES), DELIVERY_CIRCUIT_COOLDOWN_SECONDS: '60' });
      orgId = await createOrg(t, 'Rocket GraphQL');
      general = await createChannel(t, orgId, 'general');
      admin = (await gql(VIEWER)).viewer;
    });
    afterAll(async () => {
      await t.close();
      await Promise.all(servers.map((s) => s.close()));
    });

    it('creates an incoming integration whose hook URL, shown once, posts into the channel', async () => {
      const made = await created({ type: 'INCOMING', name: 'deploys', username: 'deploy.bot', channels: ['#general'], emoji: ':rocket:' });
      expect(made).toMatchObject({
        type: 'INCOMING',
        organisationId: orgId,
        name: 'deploys',
        enabled: true,
        channels: ['#general'],
        username: 'deploy.bot',
        emoji: ':rocket:',
        scriptEnabled: false,
        script: null,
        event: null,
        urls: [],
        retryCount: null,
        createdBy: { id: admin.id, name: admin.name },
        updatedBy: null,
      });
      expect(made.hookUrl).toBe(`${t.url}/hooks/${made.id}/${made.token}`);
      expect(made.token).toMatch(/^[A-Za-z0-9_-]{48}$/);

      const res = await fetch(made.hookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'v1.2 is out' }) });
      expect(res.status).toBe(200);
      const posted = await until(async () => (await messages(general.id)).find((m: { message: string }) => m.message === 'v1.2 is out'), 10_000, 'the hook message');
      expect(posted).toMatchObject({ username: 'deploy.bot', source: 'rocketchat-incoming' });

      // Read again, the token is gone for good: only its hash is kept. An incoming integration has no endpoint health.
      const read = await one(made.id);
      expect(read).toMatchObject({ id: made.id, hookUrl: null, token: null, health: null });
      expect(read.history.edges).toEqual([]);
    });

    it('runs an outgoing integration with a script against a real server, with its history, delivery ids and health', async () => {
      const server = await startServer((req, res) => json(res, 200, { text: `echo: ${(req.json as { q: string }).q}` }));
      servers.push(server);
      const script = `class Script {
  prepare_outgoing_request({ request }) {
    console.log('asking ' + request.data.text);
    return { url: request.url, method: 'POST', data: { q: request.data.text } };
  }
}`;
      const made = await created({
        type: 'OUTGOING',
        name: 'echo',
        username: 'echo.bot',
        channels: ['#general'],
        scriptEnabled: true,
        script,
        event: 'SEND_MESSAGE',
        urls: [`${server.url}/echo`],
        triggerWords: ['!echo'],
        token: 'outgoing-secret-9876',
        retryDelay: 'POWERS_OF_TWO',
        retryCount: 2,
      });
      expect(made).toMatchObject({
        type: 'OUTGOING',
        event: 'SEND_MESSAGE',
        urls: [`${server.url}/echo`],
        triggerWords: ['!echo'],
        triggerWordAnywhere: false,
        retryFailedCalls: true,
        retryCount: 2,
        retryDelay: 'POWERS_OF_TWO',
        token: '********9876',
        hookUrl: null,
        script,
      });

      const sent = (await gql(SEND, { channelId: general.id, message: '!echo hello' })).sendMessage.data.id;
      await until(async () => (await messages(general.id)).some((m: { message: string }) => m.message === 'echo: !echo hello'), 10_000, 'the reply');
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0].json).toEqual({ q: '!echo hello' });

      const read = await until(async () => {
        const r = await one(made.id);
        return r.history.edges[0]?.node.step === 'finished' ? r : undefined;
      }, 10_000, 'the finished run');
      const run = read.history.edges[0].node;
      expect(run).toMatchObject({ type: 'outgoing-webhook', event: 'sendMessage', url: `${server.url}/echo`, finished: true, error: false, httpStatus: 200, messageId: sent, replayOf: null });
      expect(run.scriptLogs).toEqual(['log: asking !echo hello']);
      expect(run.deliveryId).toMatch(/^[0-9A-Z]{26}$/);
      expect(read.history.edges[0].cursor).toBe(run.id);
      expect(read.health).toEqual([
        {
          url: `${server.url}/echo`,
          health: { state: 'CLOSED', consecutiveFailures: 0, failingSince: null, openUntil: null, failureRate: 0, attempts: 1, failures: 0, lastError: null, lastErrorAt: null },
        },
      ]);

      // The run's delivery id is the one replayDelivery takes: the replay is a run of its own, pointing at this one.
      const replay = (await gql(REPLAY, { id: run.deliveryId })).replayDelivery;
      expect(replay.__typename).toBe('MutationReplayDeliverySuccess');
      const replayed = await until(async () => (await one(made.id)).history.edges.find((e: { node: { replayOf: string | null } }) => e.node.replayOf === run.id), 10_000, 'the replayed run');
      expect(replayed.node.deliveryId).toBe(replay.data.id);
      await until(() => server.requests.length === 2, 10_000, 'the replayed call');
    });

    it('opens a failing URL\'s circuit and shows it in health, the healthy URL beside it closed', async () => {
      const good = await startServer((_req, res) => json(res, 200, {}));
      const bad = await startServer((_req, res) => json(res, 500, { error: 'down' }));
      servers.push(good, bad);
      const made = await created({
        type: 'OUTGOING',
        name: 'two urls',
        username: 'fan.bot',
        channels: ['all_public_channels'],
        event: 'SEND_MESSAGE',
        urls: [`${good.url}/ok`, `${bad.url}/down`],
        triggerWords: ['!fan'],
        retryFailedCalls: false,
      });
      for (let i = 0; i < FAILURES; i++) await gql(SEND, { channelId: general.id, message: `!fan ${i}` });
      const health = await until(async () => {
        const h = (await one(made.id)).health;
        // The circuit moves before the attempt's own row is written: wait for both URLs' rows as well.
        return h[1].health.state === 'OPEN' && h[0].health.attempts === FAILURES && h[1].health.attempts === FAILURES ? h : undefined;
      }, 10_000, 'the open circuit');
      expect(health[0]).toMatchObject({ url: `${good.url}/ok`, health: { state: 'CLOSED', consecutiveFailures: 0, attempts: FAILURES, failures: 0, failureRate: 0 } });
      expect(health[1]).toMatchObject({
        url: `${bad.url}/down`,
        health: { state: 'OPEN', consecutiveFailures: FAILURES, attempts: FAILURES, failures: FAILURES, failureRate: 1, lastError: expect.stringMatching(/500/) },
      });
      expect(Date.parse(health[1].health.openUntil)).toBeGreaterThan(Date.now());
      expect(bad.requests).toHaveLength(FAILURES);
      // Each failed call is a finished run of its own in the history, with the answer it got.
      const failed = await until(async () => {
        const runs = (await one(made.id)).history.edges.map((e: { node: { url: string; finished: boolean } }) => e.node).filter((r: { url: string }) => r.url === `${bad.url}/down`);
        return runs.length === FAILURES && runs.every((r: { finished: boolean }) => r.finished) ? runs : undefined;
      }, 10_000, 'the failed runs');
      for (const run of failed) expect(run).toMatchObject({ step: 'http-error', error: true, httpStatus: 500, deliveryId: expect.stringMatching(/^[0-9A-Z]{26}$/) });

      // Recovery sends the failed calls again (through the open circuit: an admin's own act), one new run each.
      const recovered = (await gql(RECOVER, { id: made.id, since: new Date(Date.now() - 60_000).toISOString() })).recoverWebhookIntegration;
      expect(recovered).toMatchObject({ __typename: 'MutationRecoverWebhookIntegrationSuccess', data: { count: FAILURES, remaining: 0 } });
      expect(recovered.data.runs.map((r: { replayOf: string }) => r.replayOf).sort()).toEqual(failed.map((r: { id: string }) => r.id).sort());
      await until(() => bad.requests.length === FAILURES * 2, 10_000, 'the recovered calls');
      await until(async () => {
        const runs = (await one(made.id)).history.edges.map((e: { node: { replayOf: string | null; finished: boolean } }) => e.node).filter((r: { replayOf: string | null }) => r.replayOf);
        return runs.length === FAILURES && runs.every((r: { finished: boolean }) => r.finished);
      }, 10_000, 'the recovered runs finished');

      // An admin re-enables the url: its circuit closes and its failures are forgotten.
      const reenabled = (await gql(REENABLE, { id: made.id, url: `${bad.url}/down` })).reenableWebhookIntegrationUrl;
      expect(reenabled).toMatchObject({ __typename: 'MutationReenableWebhookIntegrationUrlSuccess', data: { url: `${bad.url}/down`, health: { state: 'CLOSED', consecutiveFailures: 0, openUntil: null } } });
      expect((await one(made.id)).health[1].health).toMatchObject({ state: 'CLOSED', consecutiveFailures: 0 });
    });

    it('answers a script that does not compile, bad channels, and a missing url or event as errors on their fields', async () => {
      const base = { type: 'OUTGOING', name: 'bad', username: 'x', channels: ['#general'], event: 'SEND_MESSAGE', urls: ['http://127.0.0.1:1/'] };
      const syntax = await create({ ...base, scriptEnabled: true, script: 'class Script {\n  prepare_outgoing_request({ request }) {\n    return 1 +;\n  }\n}' });
      expect(syntax).toMatchObject({ __typename: 'InvalidScriptError', field: 'script', line: 3, column: expect.any(Number) });
      expect(syntax.message).toMatch(/^SyntaxError: Unexpected token/);
      const noClass = await create({ ...base, scriptEnabled: true, script: 'const x = 1;' });
      expect(noClass).toMatchObject({ __typename: 'InvalidScriptError', field: 'script', line: null, message: expect.stringMatching(/class Script/) });

      expect(await create({ ...base, channels: ['#nope'] })).toMatchObject({ __typename: 'ValidationError', field: 'channels', message: expect.stringMatching(/#nope/) });
      expect(await create({ ...base, channels: ['general'] })).toMatchObject({ __typename: 'ValidationError', field: 'channels' });
      expect(await create({ ...base, urls: undefined })).toMatchObject({ __typename: 'ValidationError', field: 'urls' });
      expect(await create({ ...base, urls: [] })).toMatchObject({ __typename: 'ValidationError', field: 'urls' });
      expect(await create({ ...base, urls: ['ftp://x'] })).toMatchObject({ __typename: 'ValidationError', field: 'urls.0' });
      expect(await create({ ...base, event: undefined })).toMatchObject({ __typename: 'ValidationError', field: 'event' });
      expect(await create({ ...base, retryCount: 99 })).toMatchObject({ __typename: 'ValidationError', field: 'retryCount' });

      // Update compiles too, and a refused change leaves the integration as it was.
      const ok = await created({ type: 'INCOMING', name: 'fine', username: 'x', channels: ['#general'] });
      const bad = (await gql(UPDATE, { input: { id: ok.id, scriptEnabled: true, script: 'class Script {' } })).updateWebhookIntegration;
      expect(bad).toMatchObject({ __typename: 'InvalidScriptError', field: 'script', line: 1, message: expect.stringMatching(/^SyntaxError/) });
      expect((await gql(UPDATE, { input: { id: ok.id, channels: ['#gone'] } })).updateWebhookIntegration).toMatchObject({ __typename: 'ValidationError', field: 'channels' });
      expect(await one(ok.id)).toMatchObject({ scriptEnabled: false, script: null, channels: ['#general'] });
    });

    it('lets a member see and change only their own, and answers another organisation not found', async () => {
      const member = await createUser(t, `rcg-member-${db}`);
      await addMember(t, orgId, member.id, 'MEMBER');
      const outsider = await createUser(t, `rcg-outsider-${db}`);
      await createOrg(t, 'Elsewhere', outsider.token);

      const theirs = await created({ type: 'INCOMING', name: 'member own', username: 'm', channels: ['#general'] }, member.token);
      expect(theirs.createdBy).toEqual({ id: member.id, name: `rcg-member-${db}` });
      const admins = await created({ type: 'INCOMING', name: 'admin only', username: 'a', channels: ['#general'] });

      const memberList = (await gql(LIST, { org: orgId }, member.token)).organisation.webhookIntegrations;
      expect(memberList.totalCount).toBe(1);
      expect(memberList.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([theirs.id]);
      const adminList = (await gql(LIST, { org: orgId, type: 'INCOMING' }, ADMIN_TOKEN)).organisation.webhookIntegrations;
      expect(adminList.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual(expect.arrayContaining([theirs.id, admins.id]));
      expect(adminList.edges.every((e: { node: { type: string } }) => e.node.type === 'INCOMING')).toBe(true);
      // Newest first, paged with the cursors.
      const first = (await gql(LIST, { org: orgId, first: 1 })).organisation.webhookIntegrations;
      expect(first.edges[0].node.id).toBe(admins.id);
      expect(first.pageInfo.hasNextPage).toBe(true);
      const second = (await gql(LIST, { org: orgId, first: 1, after: first.pageInfo.endCursor })).organisation.webhookIntegrations;
      expect(second.edges[0].node.id).toBe(theirs.id);

      const renamed = (await gql(UPDATE, { input: { id: theirs.id, name: 'member renamed', alias: 'Bot' } }, member.token)).updateWebhookIntegration;
      expect(renamed).toMatchObject({ __typename: 'MutationUpdateWebhookIntegrationSuccess', data: { name: 'member renamed', alias: 'Bot', updatedBy: { id: member.id } } });
      const cleared = (await gql(UPDATE, { input: { id: theirs.id, alias: null } }, member.token)).updateWebhookIntegration;
      expect(cleared.data).toMatchObject({ name: 'member renamed', alias: null });

      const forbidden = await t.gqlRaw(ONE, { id: admins.id }, member.token);
      expect(forbidden.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect((await gql(UPDATE, { input: { id: admins.id, name: 'taken over' } }, member.token)).updateWebhookIntegration.__typename).toBe('ForbiddenError');
      expect((await gql(REMOVE, { id: admins.id }, member.token)).removeWebhookIntegration.__typename).toBe('ForbiddenError');

      expect(await one(theirs.id, outsider.token)).toBeNull();
      expect((await gql(UPDATE, { input: { id: theirs.id, name: 'stolen' } }, outsider.token)).updateWebhookIntegration).toMatchObject({ __typename: 'NotFoundError', resource: 'integration' });
      expect((await gql(REMOVE, { id: theirs.id }, outsider.token)).removeWebhookIntegration).toMatchObject({ __typename: 'NotFoundError' });
      expect((await create({ type: 'INCOMING', name: 'x', username: 'x', channels: ['#general'] }, outsider.token))).toMatchObject({ __typename: 'NotFoundError', resource: 'organisation' });
      expect((await gql(LIST, { org: orgId }, outsider.token)).organisation).toBeNull();
      expect(await one(theirs.id, member.token)).toMatchObject({ name: 'member renamed' });

      expect((await gql(REMOVE, { id: theirs.id }, member.token)).removeWebhookIntegration).toMatchObject({ __typename: 'MutationRemoveWebhookIntegrationSuccess', data: { id: theirs.id } });
      expect(await one(theirs.id, member.token)).toBeNull();
    });

    it('agrees with the REST shim on the same integration, whichever door created it', async () => {
      const viaRest = await rest(
        'POST',
        '/api/v1/integrations.create',
        { type: 'webhook-outgoing', username: 'rest.bot', channel: '#general', scriptEnabled: false, name: 'from rest', enabled: true, event: 'roomCreated', urls: ['http://127.0.0.1:1/rooms'], token: 'rest-token-abcd1234', retryCount: 3, retryDelay: 'increments-of-two', alias: 'Rest' },
        orgId,
      );
      expect(viaRest.status).toBe(200);
      const r = viaRest.body.integration;
      const read = await one(r._id);
      expect(read).toMatchObject({
        id: r._id,
        type: 'OUTGOING',
        name: r.name,
        enabled: r.enabled,
        channels: r.channel,
        username: r.username,
        alias: r.alias,
        scriptEnabled: r.scriptEnabled,
        event: 'ROOM_CREATED',
        urls: r.urls,
        triggerWords: [],
        triggerWordAnywhere: r.triggerWordAnywhere,
        retryFailedCalls: r.retryFailedCalls,
        retryCount: r.retryCount,
        retryDelay: 'INCREMENTS_OF_TWO',
        token: r.token,
        createdBy: { id: r._createdBy._id, name: r._createdBy.username },
        createdAt: r._createdAt,
      });
      expect(read.token).toBe('********1234');

      const viaGraphql = await created({ type: 'INCOMING', name: 'from graphql', username: 'gql.bot', channels: ['#general'], avatar: 'https://example.com/a.png', scriptEnabled: true, script: "class Script { process_incoming_request({ request }) { return { content: { text: 'via script: ' + request.content.text } }; } }" });
      const got = await rest('GET', `/api/v1/integrations.get?integrationId=${viaGraphql.id}`);
      expect(got.status).toBe(200);
      expect(got.body.integration).toMatchObject({
        _id: viaGraphql.id,
        type: 'webhook-incoming',
        name: viaGraphql.name,
        enabled: viaGraphql.enabled,
        channel: viaGraphql.channels,
        username: viaGraphql.username,
        avatar: viaGraphql.avatar,
        scriptEnabled: true,
        script: viaGraphql.script,
        userId: admin.id,
        _createdAt: viaGraphql.createdAt,
      });
      // Neither door shows the incoming token after creation.
      expect(got.body.integration.token).toBeUndefined();

      // A change through REST is what GraphQL reads, and the hook made through GraphQL runs the script.
      expect((await rest('PUT', '/api/v1/integrations.update', { type: 'webhook-incoming', integrationId: viaGraphql.id, name: 'renamed on rest' })).status).toBe(200);
      expect(await one(viaGraphql.id)).toMatchObject({ name: 'renamed on rest', updatedBy: { id: admin.id } });
      const hook = await fetch(viaGraphql.hookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'both doors' }) });
      expect(hook.status).toBe(200);
      await until(async () => (await messages(general.id)).some((m: { message: string }) => m.message === 'via script: both doors'), 10_000, 'the scripted message');
      const restHistory = await rest('GET', `/api/v1/integrations.history?id=${viaGraphql.id}`);
      const gqlHistory = (await one(viaGraphql.id)).history.edges.map((e: { node: { id: string } }) => e.node.id);
      expect(gqlHistory).toHaveLength(1);
      expect(gqlHistory).toEqual(restHistory.body.history.map((h: { _id: string }) => h._id));

      expect((await gql(REMOVE, { id: r._id })).removeWebhookIntegration.__typename).toBe('MutationRemoveWebhookIntegrationSuccess');
      expect((await rest('GET', `/api/v1/integrations.get?integrationId=${r._id}`)).status).toBe(404);
    });
  });
}
