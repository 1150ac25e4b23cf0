/**
 * Replay and recovery through the doors: replayDelivery and recoverDeliveries over GraphQL, Rocket.Chat's
 * integrations.replay and integrations.recover, against real local HTTP servers that fail and are then fixed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { json, serveJson, startServer, type LocalServer } from './support/http-server.js';
import { addIntegration, addMember, createChannel, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';
import { sleep, until } from './support/wait.js';

const DELIVERY = 'id kind targetId channelId url attempt status statusCode error webhookId replayOf messageId';

const REPLAY = `mutation($id: ID!) { replayDelivery(input: { deliveryId: $id }) {
  __typename ... on MutationReplayDeliverySuccess { data { ${DELIVERY} } }
  ... on Error { message } ... on ValidationError { field } ... on ConflictError { conflictField: field } ... on NotFoundError { resource } } }`;

const RECOVER = `mutation($channelId: ID!, $integrationId: ID!, $since: DateTime!) {
  recoverDeliveries(input: { channelId: $channelId, integrationId: $integrationId, since: $since }) {
    __typename ... on MutationRecoverDeliveriesSuccess { data { count remaining deliveries { ${DELIVERY} } } }
    ... on Error { message } ... on ValidationError { field } } }`;

const HISTORY = `query($id: ID!) { channel(id: $id) { deliveries(first: 100) { edges { node { ${DELIVERY} } } } } }`;

interface Row {
  id: string;
  kind: string;
  targetId: string | null;
  attempt: number;
  status: string;
  statusCode: number | null;
  webhookId: string;
  replayOf: string | null;
  messageId: string | null;
}

function outputSpec(targetUrl: string) {
  return { data: { descriptions: { app_name: 'flaky' }, integration_type: 'output', is_active: true, settings: [], target_url: targetUrl } };
}

async function rc(t: TestApp, method: string, path: string, body: unknown, auth: { token: string; userId: string }) {
  const res = await fetch(`${t.url}${path}`, {
    method,
    headers: { 'x-auth-token': auth.token, 'x-user-id': auth.userId, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

for (const db of databases) {
  describe(`delivery replay and recovery (${db})`, () => {
    let t: TestApp;
    let orgId: string;
    const servers: LocalServer[] = [];
    /** What the flaky receiver answers now. */
    let answer = 500;
    let receiver: LocalServer;
    let integrationId: string;

    const gql = (query: string, variables: Record<string, unknown> = {}, token?: string | null) => t.gqlData(query, variables, token);
    const history = async (channelId: string): Promise<Row[]> => (await gql(HISTORY, { id: channelId })).channel.deliveries.edges.map((e: { node: Row }) => e.node);

    beforeAll(async () => {
      t = await startTestApp(db);
      orgId = await createOrg(t, 'Replays');
      receiver = await startServer((_req, res) => json(res, answer, { answer }));
      const specs = await serveJson({ '/spec.json': outputSpec(`${receiver.url}/hook`) });
      servers.push(receiver, specs);
      integrationId = await addIntegration(t, orgId, `${specs.url}/spec.json`);
    });
    afterAll(async () => {
      await t.close();
      await Promise.all(servers.map((s) => s.close()));
    });

    async function channelWithOutput(name: string) {
      const channel = await createChannel(t, orgId, name);
      const r = await gql(`mutation ReplayEnable($i: ID!, $c: ID!) { enableIntegration(input: { integrationId: $i, channelId: $c }) { __typename } }`, { i: integrationId, c: channel.id });
      expect(r.enableIntegration.__typename).toBe('MutationEnableIntegrationSuccess');
      return channel;
    }

    it('replays a failed call once the endpoint is fixed: same body and webhook-id, next attempt, linked to the original', async () => {
      answer = 500;
      const channel = await channelWithOutput('replay');
      const before = receiver.requests.length;
      const res = await fetch(`${t.url}/v1/webhooks/${channel.id}?message=${encodeURIComponent('replay me')}`);
      expect(res.status).toBe(202);
      const [first] = await until(async () => {
        const rows = await history(channel.id);
        return rows.some((r) => r.status === 'retried') ? rows.filter((r) => r.status === 'retried') : null;
      });
      expect(first).toMatchObject({ attempt: 1, statusCode: 500, replayOf: null });
      const failedCall = receiver.requests[before];

      answer = 202;
      const replayed = (await gql(REPLAY, { id: first.id })).replayDelivery;
      expect(replayed.__typename).toBe('MutationReplayDeliverySuccess');
      expect(replayed.data).toMatchObject({ replayOf: first.id, webhookId: first.webhookId, attempt: 3, kind: 'output', targetId: integrationId, messageId: first.messageId });
      const done = await until(async () => (await history(channel.id)).find((r) => r.id === replayed.data.id && r.status !== 'pending'));
      expect(done).toMatchObject({ status: 'succeeded', statusCode: 202, replayOf: first.id });
      const sent = receiver.requests.find((r) => r.headers['webhook-id'] === first.webhookId && r !== failedCall && r.json && (r.json as { message: string }).message === 'replay me');
      expect(sent?.body).toBe(failedCall.body);
      expect(sent?.headers['webhook-signature']).toMatch(/^v1,/);
    });

    it('refuses what cannot be replayed with typed errors, and another organisation\'s delivery as not found', async () => {
      answer = 500;
      const channel = await channelWithOutput('refusals');
      await fetch(`${t.url}/v1/webhooks/${channel.id}?message=x`);
      const rows = await until(async () => {
        const all = await history(channel.id);
        return all.some((r) => r.status === 'pending') && all.some((r) => r.status === 'retried') ? all : null;
      });
      const pending = rows.find((r) => r.status === 'pending')!;
      const conflict = (await gql(REPLAY, { id: pending.id })).replayDelivery;
      expect(conflict).toMatchObject({ __typename: 'ConflictError', conflictField: 'deliveryId' });

      expect((await gql(REPLAY, { id: 'not-an-id' })).replayDelivery).toMatchObject({ __typename: 'NotFoundError', resource: 'delivery' });
      expect((await gql(REPLAY, { id: '01JZZZZZZZZZZZZZZZZZZZZZZZ' })).replayDelivery).toMatchObject({ __typename: 'NotFoundError' });

      const failed = rows.find((r) => r.status === 'retried')!;
      // An admin of another organisation: not found, as if it did not exist.
      const stranger = await createUser(t, `stranger-${db}`);
      await createOrg(t, 'Elsewhere', stranger.token);
      expect((await gql(REPLAY, { id: failed.id }, stranger.token)).replayDelivery).toMatchObject({ __typename: 'NotFoundError', resource: 'delivery' });
      // A member of the organisation sees the delivery but may not send it again.
      const member = await createUser(t, `member-${db}`);
      await addMember(t, orgId, member.id, 'MEMBER');
      expect((await gql(REPLAY, { id: failed.id }, member.token)).replayDelivery.__typename).toBe('ForbiddenError');
      expect((await gql(RECOVER, { channelId: channel.id, integrationId, since: new Date(0).toISOString() }, stranger.token)).recoverDeliveries.__typename).toBe('NotFoundError');
      expect((await gql(RECOVER, { channelId: channel.id, integrationId, since: new Date(Date.now() + 3_600_000).toISOString() })).recoverDeliveries).toMatchObject({
        __typename: 'ValidationError',
        field: 'since',
      });
    });

    it('recovers every call of the target that failed since T, once, and only those', async () => {
      answer = 503;
      const channel = await channelWithOutput('recover');
      const enqueue = (text: string) =>
        t.app.deps.deliveries.enqueue(t.app.orm.em.fork(), {
          kind: 'output',
          organisationId: orgId,
          channelId: channel.id,
          targetId: integrationId,
          url: `${receiver.url}/hook`,
          body: { message: text },
          retry: [],
        });
      const settled = async (n: number) => until(async () => {
        const rows = await history(channel.id);
        return rows.length >= n && rows.every((r) => r.status !== 'pending') ? rows : null;
      });
      const old = await enqueue('before T');
      await settled(1);
      await sleep(50);
      const since = new Date();
      await sleep(50);
      const a = await enqueue('after T, 1');
      const b = await enqueue('after T, 2');
      await settled(3);
      answer = 202;
      const before = receiver.requests.length;
      const recovered = (await gql(RECOVER, { channelId: channel.id, integrationId, since: since.toISOString() })).recoverDeliveries;
      expect(recovered.__typename).toBe('MutationRecoverDeliveriesSuccess');
      expect(recovered.data.count).toBe(2);
      expect(recovered.data.remaining).toBe(0);
      expect(recovered.data.deliveries.map((d: Row) => d.replayOf)).toEqual([a.id, b.id]);
      const rows = await settled(5);
      expect(rows.filter((r) => r.replayOf).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
      expect(rows.find((r) => r.id === old.id)!.status).toBe('failed');
      const resent = receiver.requests.slice(before).map((r) => (r.json as { message: string }).message).sort();
      expect(resent).toEqual(['after T, 1', 'after T, 2']);
      // Calls that have since succeeded are not sent again.
      const again = (await gql(RECOVER, { channelId: channel.id, integrationId, since: since.toISOString() })).recoverDeliveries;
      expect(again.data).toMatchObject({ count: 0, remaining: 0 });
    });

    it("replays and recovers Rocket.Chat outgoing calls from the integration's history, each replay a run of its own", async () => {
      answer = 500;
      const channel = await createChannel(t, orgId, `rc-${db}`);
      const me = (await gql('{ viewer { id } }', {})).viewer.id as string;
      const auth = { token: t.token, userId: me };
      const created = await rc(t, 'POST', '/api/v1/integrations.create', {
        type: 'webhook-outgoing',
        name: 'flaky bot',
        enabled: true,
        event: 'sendMessage',
        channel: `#rc-${db}`,
        username: 'bot',
        scriptEnabled: false,
        urls: [`${receiver.url}/rc`],
        retryFailedCalls: false,
      }, auth);
      expect(created.status).toBe(200);
      const rcId = created.body.integration._id as string;
      const sent = await gql(`mutation ReplaySend($c: ID!) { sendMessage(input: { channelId: $c, message: "hello bot" }) { __typename } }`, { c: channel.id });
      expect(sent.sendMessage.__typename).toBe('MutationSendMessageSuccess');
      const failedRun = await until(async () => {
        const h = await rc(t, 'GET', `/api/v1/integrations.history?id=${rcId}`, undefined, auth);
        return h.body.history.find((r: any) => r.finished && r.error);
      });
      expect(failedRun.httpResult.statusCode).toBe(500);

      answer = 200;
      const replay = await rc(t, 'POST', '/api/v1/integrations.replay', { integrationId: rcId, historyId: failedRun._id }, auth);
      expect(replay.status).toBe(200);
      expect(replay.body).toMatchObject({ success: true, history: { replayOf: failedRun._id, step: 'pre-http-call' } });
      const replayRun = await until(async () => {
        const h = await rc(t, 'GET', `/api/v1/integrations.history?id=${rcId}`, undefined, auth);
        return h.body.history.find((r: any) => r._id === replay.body.history._id && r.finished);
      });
      expect(replayRun).toMatchObject({ step: 'finished', httpResult: { statusCode: 200 }, replayOf: failedRun._id });
      expect(replayRun.error).toBeUndefined();

      // The replay succeeded, so nothing is left to recover; a bad `since` is Rocket.Chat's invalid-params.
      const none = await rc(t, 'POST', '/api/v1/integrations.recover', { integrationId: rcId, since: new Date(0).toISOString() }, auth);
      expect(none.body).toMatchObject({ success: true, count: 0, remaining: 0, history: [] });
      const bad = await rc(t, 'POST', '/api/v1/integrations.recover', { integrationId: rcId, since: 'yesterday' }, auth);
      expect(bad).toMatchObject({ status: 400, body: { success: false, errorType: 'invalid-params' } });
      // A member who created nothing may not replay, as Rocket.Chat's manage permission says.
      const member = await createUser(t, `rc-member-${db}`);
      await addMember(t, orgId, member.id, 'MEMBER');
      const refused = await rc(t, 'POST', '/api/v1/integrations.replay', { integrationId: rcId, historyId: failedRun._id }, { token: member.token, userId: member.id });
      expect(refused.status).toBe(403);
    });
  });
}
