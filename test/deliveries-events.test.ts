/**
 * deliveryEvents over real graphql-ws sockets, with outputs calling real local HTTP servers: a member watches an
 * output's failing attempts open its circuit, a replay fail, then the replay that succeeds once the endpoint is fixed
 * close it (each attempt already in Channel.deliveries when its event arrives), and an admin close a circuit by hand;
 * `channelId` keeps one channel's events; another
 * organisation (or its channel) is not found; a removed member's stream ends. On SQLite and PostgreSQL, and across two
 * gateway processes on one Redis and one PostgreSQL: an attempt made by one reaches a subscriber of the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway, type GatewayProcess } from '../bench/spawn.js';
import { ADMIN_TOKEN, remoteGateway, startTestApp, type TestApp } from './support/app.js';
import { json, serveJson, startServer, type LocalServer } from './support/http-server.js';
import { openSocket, type RawSocket } from './support/live.js';
import { addIntegration, addMember, createChannel, createOrg, createUser } from './support/seed.js';
import { databases, freshDatabase, postgresAvailable, redisAvailable, REDIS_URL } from './support/services.js';
import { until } from './support/wait.js';

const EVENTS = `subscription DeliveryEventsTest($o: ID!, $c: ID) { deliveryEvents(organisationId: $o, channelId: $c) {
  kind at organisationId channelId retryAt
  delivery { id kind targetId channelId url attempt status statusCode latencyMs error response replayOf webhookId messageId }
  target { kind channelId integrationId url state consecutiveFailures openUntil lastError disabledReason } } }`;

const REPLAY = `mutation DeliveryEventsReplay($id: ID!) { replayDelivery(input: { deliveryId: $id }) {
  __typename ... on MutationReplayDeliverySuccess { data { id replayOf } } ... on Error { message } } }`;

const HISTORY = `query DeliveryEventsHistory($id: ID!) { channel(id: $id) { deliveries(first: 20) { edges { node { id messageId status statusCode } } } } }`;

const REENABLE = `mutation DeliveryEventsReenable($c: ID!, $i: ID!) { reenableDeliveryTarget(input: { channelId: $c, integrationId: $i }) { __typename } }`;

const REMOVE = `mutation DeliveryEventsRemove($o: ID!, $u: String!) { removeMember(input: { organisationId: $o, user: $u }) { __typename } }`;

/** A small circuit: two failures in a row open it, and it stays open for the whole test unless a replay closes it. */
const CIRCUIT = { DELIVERY_CIRCUIT_FAILURES: '2', DELIVERY_CIRCUIT_COOLDOWN_SECONDS: '600' };

/** The events a socket received for one subscription. */
const eventsOf = (socket: RawSocket, id: string) => socket.nexts(id).flatMap((p) => (p.data?.deliveryEvents ? [p.data.deliveryEvents] : []));

/** An output integration on a new channel of `orgId`, calling a local server that answers `status()`. */
async function output(t: TestApp, servers: LocalServer[], orgId: string, name: string, status: () => number) {
  const receiver = await startServer((_req, res) => json(res, status(), {}));
  const specs = await serveJson({
    '/spec.json': { data: { descriptions: { app_name: name }, integration_type: 'output', is_active: true, settings: [], target_url: `${receiver.url}/hook` } },
  });
  servers.push(receiver, specs);
  const integrationId = await addIntegration(t, orgId, `${specs.url}/spec.json`);
  const channel = await createChannel(t, orgId, name);
  const r = await t.gqlRaw(`mutation DeliveryEventsEnable($i: ID!, $c: ID!) { enableIntegration(input: { integrationId: $i, channelId: $c }) { __typename } }`, {
    i: integrationId,
    c: channel.id,
  });
  expect(r.data).toEqual({ enableIntegration: { __typename: 'MutationEnableIntegrationSuccess' } });
  return { receiver, integrationId, channelId: channel.id, url: `${receiver.url}/hook` };
}

/** Post a message to a channel's webhook on `gatewayUrl`; answers the stored message's id. */
async function post(gatewayUrl: string, channelId: string, text: string): Promise<string> {
  const res = await fetch(`${gatewayUrl}/v1/webhooks/${channelId}?message=${encodeURIComponent(text)}`);
  expect(res.status).toBe(202);
  return ((await res.json()) as { data: { id: string } }).data.id;
}

/** The channel's delivery of a message, once it is no longer pending. */
async function attempted(t: TestApp, channelId: string, messageId: string) {
  const r = await t.gqlRaw(HISTORY, { id: channelId });
  const edges = (r.data as { channel: { deliveries: { edges: { node: { id: string; messageId: string; status: string; statusCode: number | null } }[] } } }).channel.deliveries.edges;
  return edges.map((e) => e.node).find((n) => n.messageId === messageId && n.status !== 'pending');
}

/**
 * Post probe messages to the channel (whose output must succeed meanwhile) until each subscription heard the
 * attempt of one: they are live from then on. Each probe's attempt is finished before the next is posted, so none is
 * still on its way afterwards. Answers the probes' message ids.
 */
async function untilHearing(t: TestApp, gatewayUrl: string, channelId: string, subscribers: [RawSocket, string][]): Promise<Set<string>> {
  const probes = new Set<string>();
  await until(
    async () => {
      const messageId = await post(gatewayUrl, channelId, 'probe');
      probes.add(messageId);
      const heard = () => subscribers.every(([socket, id]) => eventsOf(socket, id).some((e) => e.delivery?.messageId === messageId));
      await until(async () => heard() || (await attempted(t, channelId, messageId)), 20_000, 'the probe to be attempted');
      return heard() || until(heard, 500).catch(() => false);
    },
    30_000,
    'the delivery events to be live',
  );
  return probes;
}

for (const db of databases) {
  describe(`deliveryEvents (${db})`, () => {
    let t: TestApp;
    const servers: LocalServer[] = [];
    const sockets: RawSocket[] = [];

    beforeAll(async () => {
      t = await startTestApp(db, CIRCUIT);
    });
    afterAll(async () => {
      await Promise.all(sockets.map((s) => s.close()));
      await t.close();
      await Promise.all(servers.map((s) => s.close()));
    });

    const socket = async (token: string) => {
      const s = await openSocket(t.url, { authorization: `Bearer ${token}` });
      sockets.push(s);
      return s;
    };

    it("shows a member an output's failing attempts, the circuit opening, a replay failing, then the replay that succeeds and the circuit closing", async () => {
      const orgId = await createOrg(t, 'Events');
      const member = await createUser(t, `events-member-${db}`);
      await addMember(t, orgId, member.id, 'MEMBER');
      let status = 202;
      const target = await output(t, servers, orgId, 'failing', () => status);
      const ws = await socket(member.token);
      ws.subscribe('1', EVENTS, { o: orgId });
      const probes = await untilHearing(t, t.url, target.channelId, [[ws, '1']]);
      const since = () => eventsOf(ws, '1').filter((e) => !probes.has(e.delivery?.messageId));

      // Two failures in a row: each attempt, then the circuit opening after the second.
      status = 500;
      const failed: string[] = [];
      for (const text of ['first failure', 'second failure']) {
        const messageId = await post(t.url, target.channelId, text);
        const event = await until(() => since().find((e) => e.delivery?.messageId === messageId), 20_000, `the attempt of "${text}"`);
        // Reacting to the event by reading the history finds the attempt there.
        expect(await attempted(t, target.channelId, messageId)).toEqual({ id: event.delivery.id, messageId, status: 'retried', statusCode: 500 });
        failed.push(event.delivery.id);
      }
      await until(() => since().some((e) => e.kind === 'TARGET_OPENED'), 20_000, 'the circuit to open');
      const [first, second, opened] = since();
      expect(since().map((e) => e.kind)).toEqual(['ATTEMPT_RETRIED', 'ATTEMPT_RETRIED', 'TARGET_OPENED']);
      for (const [event, id] of [
        [first, failed[0]],
        [second, failed[1]],
      ]) {
        expect(event).toMatchObject({ organisationId: orgId, channelId: target.channelId, target: null });
        expect(event.delivery).toMatchObject({
          id,
          kind: 'output',
          targetId: target.integrationId,
          channelId: target.channelId,
          url: target.url,
          attempt: 1,
          status: 'retried',
          statusCode: 500,
          error: 'HTTP 500',
          response: null,
          replayOf: null,
          webhookId: id,
        });
        expect(event.delivery.latencyMs).toBeGreaterThanOrEqual(0);
        expect(new Date(event.retryAt).getTime()).toBeGreaterThan(new Date(event.at).getTime());
      }
      expect(opened).toMatchObject({
        organisationId: orgId,
        channelId: target.channelId,
        delivery: null,
        retryAt: null,
        target: { kind: 'output', channelId: target.channelId, integrationId: target.integrationId, state: 'OPEN', consecutiveFailures: 2, lastError: 'HTTP 500', disabledReason: null },
      });
      expect(new Date(opened.target.openUntil).getTime()).toBeGreaterThan(new Date(opened.at).getTime());
      // No request body, headers or secrets travel with an event.
      expect(JSON.stringify(since())).not.toMatch(/first failure|second failure|sealed|webhook-signature/);

      // A replay before the endpoint is fixed goes out through the open circuit, once: it fails for good.
      const replay = async () => {
        const r = (await t.gqlRaw(REPLAY, { id: failed[1] })).data as { replayDelivery: { __typename: string; data: { id: string } } };
        expect(r.replayDelivery.__typename).toBe('MutationReplayDeliverySuccess');
        return r.replayDelivery.data.id;
      };
      const early = await replay();
      const failedReplay = await until(() => since().find((e) => e.delivery?.id === early), 20_000, 'the early replay');
      // Attempt 3: the retry queued when attempt 1 failed (held by the open circuit) is attempt 2.
      expect(failedReplay).toMatchObject({ kind: 'ATTEMPT_FAILED', retryAt: null, delivery: { replayOf: failed[1], webhookId: failed[1], attempt: 3, status: 'failed', statusCode: 500 } });

      // The endpoint is fixed; the replay succeeds and closes the circuit.
      status = 202;
      const fixed = await replay();
      await until(() => since().some((e) => e.kind === 'TARGET_CLOSED'), 20_000, 'the circuit to close');
      expect(since().slice(3).map((e) => e.kind)).toEqual(['ATTEMPT_FAILED', 'ATTEMPT_SUCCEEDED', 'TARGET_CLOSED']);
      const [succeeded, closed] = since().slice(4);
      expect(succeeded.delivery).toMatchObject({ id: fixed, replayOf: failed[1], webhookId: failed[1], attempt: 4, status: 'succeeded', statusCode: 202, error: null });
      expect(closed.target).toMatchObject({ integrationId: target.integrationId, state: 'CLOSED', consecutiveFailures: 0, openUntil: null });
      expect(ws.closed).toBeNull();
    });

    it("tells of an admin closing a target's circuit by hand (reenableDeliveryTarget)", async () => {
      const orgId = await createOrg(t, 'By hand');
      const member = await createUser(t, `events-watcher-${db}`);
      await addMember(t, orgId, member.id, 'MEMBER');
      let status = 202;
      const target = await output(t, servers, orgId, 'by-hand', () => status);
      const ws = await socket(member.token);
      ws.subscribe('1', EVENTS, { o: orgId, c: target.channelId });
      const probes = await untilHearing(t, t.url, target.channelId, [[ws, '1']]);
      const since = () => eventsOf(ws, '1').filter((e) => !probes.has(e.delivery?.messageId));
      status = 500;
      await post(t.url, target.channelId, 'one');
      await post(t.url, target.channelId, 'two');
      await until(() => since().some((e) => e.kind === 'TARGET_OPENED'), 20_000, 'the circuit to open');

      const r = await t.gqlRaw(REENABLE, { c: target.channelId, i: target.integrationId });
      expect(r.data).toEqual({ reenableDeliveryTarget: { __typename: 'MutationReenableDeliveryTargetSuccess' } });
      const closed = await until(() => since().find((e) => e.kind === 'TARGET_CLOSED'), 20_000, 'the circuit closed by hand');
      expect(closed).toMatchObject({ organisationId: orgId, channelId: target.channelId, delivery: null, target: { integrationId: target.integrationId, state: 'CLOSED', consecutiveFailures: 0 } });
    });

    it("keeps one channel's events with channelId, and refuses a channel of another organisation", async () => {
      const orgId = await createOrg(t, 'Filtered');
      const a = await output(t, servers, orgId, 'a', () => 202);
      const b = await output(t, servers, orgId, 'b', () => 202);
      const ws = await socket(ADMIN_TOKEN);
      ws.subscribe('a', EVENTS, { o: orgId, c: a.channelId });
      ws.subscribe('all', EVENTS, { o: orgId });
      await untilHearing(t, t.url, a.channelId, [
        [ws, 'a'],
        [ws, 'all'],
      ]);

      const onB = await post(t.url, b.channelId, 'to b');
      await until(() => eventsOf(ws, 'all').some((e) => e.delivery?.messageId === onB), 20_000, "b's attempt");
      const onA = await post(t.url, a.channelId, 'to a');
      await until(() => eventsOf(ws, 'a').some((e) => e.delivery?.messageId === onA), 20_000, "a's attempt on the filtered subscription");
      expect(eventsOf(ws, 'all').some((e) => e.delivery?.messageId === onA)).toBe(true);
      expect(eventsOf(ws, 'a').every((e) => e.channelId === a.channelId && e.delivery.channelId === a.channelId)).toBe(true);
      expect(eventsOf(ws, 'a').some((e) => e.delivery?.messageId === onB)).toBe(false);

      // A channel of another organisation, named with this one, is not found.
      const otherOrg = await createOrg(t, 'Elsewhere');
      const elsewhere = await createChannel(t, otherOrg, 'elsewhere');
      ws.subscribe('cross', EVENTS, { o: orgId, c: elsewhere.id });
      ws.subscribe('junk', EVENTS, { o: orgId, c: 'not-a-channel' });
      await until(() => ws.completed('cross') && ws.completed('junk'), 5_000, 'the refusals');
      for (const id of ['cross', 'junk']) expect(ws.nexts(id)).toEqual([{ errors: [expect.objectContaining({ message: expect.stringMatching(/^channel .* not found$/), extensions: { code: 'NOT_FOUND' } })] }]);
    });

    it("answers NOT_FOUND to a member of another organisation, as for the organisation's other data", async () => {
      const orgId = await createOrg(t, 'Private');
      const outsider = await createUser(t, `events-outsider-${db}`);
      const theirs = await createOrg(t, 'Theirs');
      await addMember(t, theirs, outsider.id, 'OWNER');
      const ws = await socket(outsider.token);
      ws.subscribe('1', EVENTS, { o: orgId });
      ws.subscribe('2', EVENTS, { o: 'not-an-organisation' });
      await until(() => ws.completed('1') && ws.completed('2'), 5_000, 'the refusals');
      for (const id of ['1', '2']) {
        expect(ws.nexts(id)).toEqual([{ errors: [expect.objectContaining({ message: expect.stringMatching(/^organisation .* not found$/), extensions: { code: 'NOT_FOUND' } })] }]);
      }
      // The same answer as reading the organisation.
      const read = await t.gqlRaw('query DeliveryEventsOrg($id: ID!) { organisation(id: $id) { id } }', { id: orgId }, outsider.token);
      expect(read.data).toEqual({ organisation: null });
    });

    it('ends the stream of a member removed from the organisation', async () => {
      const orgId = await createOrg(t, 'Leaving');
      const member = await createUser(t, `events-leaver-${db}`);
      await addMember(t, orgId, member.id, 'MEMBER');
      const target = await output(t, servers, orgId, 'leaving', () => 202);
      const ws = await socket(member.token);
      ws.subscribe('1', EVENTS, { o: orgId });
      await untilHearing(t, t.url, target.channelId, [[ws, '1']]);

      expect((await t.gqlRaw(REMOVE, { o: orgId, u: member.id })).data).toEqual({ removeMember: { __typename: 'MutationRemoveMemberSuccess' } });
      await until(() => ws.completed('1'), 5_000, 'the stream to end');
      expect(ws.nexts('1').at(-1)).toEqual({
        errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'ACCESS_REVOKED', reason: 'membership_removed', organisationId: orgId }) })],
      });
      // Later attempts do not reach it.
      const frames = ws.frames.filter((f) => f.id === '1').length;
      const after = await post(t.url, target.channelId, 'after removal');
      await until(() => attempted(t, target.channelId, after), 20_000, 'the attempt after the removal');
      expect(ws.frames.filter((f) => f.id === '1').length).toBe(frames);
      expect(ws.closed).toBeNull();
    });
  });
}

describe.skipIf(!postgresAvailable || !redisAvailable)('deliveryEvents across two gateway processes on one Redis and one PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let a: GatewayProcess;
  let b: GatewayProcess;
  const servers: LocalServer[] = [];
  const sockets: RawSocket[] = [];

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    const env = { DATABASE_URL: database.url, REDIS_URL, SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN, OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8', ...CIRCUIT };
    // One after the other: the first migrates the fresh database.
    a = await spawnGateway(env, 120_000);
    b = await spawnGateway(env, 120_000);
  }, 300_000);

  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all(servers.map((s) => s.close()));
    await database?.drop();
  });

  it("a member subscribed to one gateway sees the attempts and circuit changes the other gateway's worker makes", async () => {
    const onA = remoteGateway(a.url);
    const orgId = await createOrg(onA, 'Replicas');
    const member = await createUser(onA, 'replica-member');
    await addMember(onA, orgId, member.id, 'MEMBER');
    let status = 202;
    const target = await output(onA, servers, orgId, 'replicated', () => status);
    const ws = await openSocket(b.url, { authorization: `Bearer ${member.token}` });
    sockets.push(ws);
    ws.subscribe('1', EVENTS, { o: orgId });
    // Messages enter through A, whose worker claims their calls as it stores them; the subscriber is on B.
    const probes = await untilHearing(onA, a.url, target.channelId, [[ws, '1']]);
    const heard = () => eventsOf(ws, '1').filter((e) => !probes.has(e.delivery?.messageId));

    status = 500;
    const messageIds = [await post(a.url, target.channelId, 'one'), await post(a.url, target.channelId, 'two')];
    await until(() => heard().length === 3, 20_000, "A's attempts and circuit change to reach B");
    expect(heard().filter((e) => e.kind === 'ATTEMPT_RETRIED').map((e) => e.delivery.messageId).sort()).toEqual([...messageIds].sort());
    expect(heard().find((e) => e.kind === 'TARGET_OPENED')).toMatchObject({ organisationId: orgId, target: { integrationId: target.integrationId, state: 'OPEN', consecutiveFailures: 2 } });
    for (const messageId of messageIds) expect(await attempted(onA, target.channelId, messageId)).toMatchObject({ status: 'retried', statusCode: 500 });
  }, 60_000);
});
