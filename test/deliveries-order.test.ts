/**
 * Ordered delivery and per-target throttles, against real local HTTP servers: an ordered output receives its calls
 * in the channel's commit order (`Message.seq`) under concurrent posts, one at a time; a failing call holds the ones
 * after it until it succeeds or is given up; unordered outputs still go in parallel; a throttle spaces the calls of a
 * target, and two gateway processes on one database and one Redis keep one order and one rate between them.
 */
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayProcess } from '../bench/spawn.js';
import { GATEWAY_PAIR_CASES, startGatewayPair, type GatewayPair } from './support/gateway-pair.js';
import { remoteGateway, startTestApp, type TestApp } from './support/app.js';
import { json, serveJson, startServer, type LocalServer, type Recorded } from './support/http-server.js';
import { addIntegration, addMember, createChannel, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';
import { sleep, until } from './support/wait.js';

const SET_OPTIONS = `mutation OrderSetOptions($c: ID!, $i: ID!, $o: Boolean, $m: Int) {
  setDeliveryOptions(input: { channelId: $c, integrationId: $i, ordered: $o, maxPerSecond: $m }) {
    __typename
    ... on MutationSetDeliveryOptionsSuccess { data { id integration { id } deliveryOptions { ordered maxPerSecond } } }
    ... on ValidationError { field message }
    ... on Error { message }
  } }`;

const OPTIONS = `query OrderOptions($id: ID!) { channel(id: $id) { integrations { integration { id } deliveryOptions { ordered maxPerSecond } } } }`;
const SEQS = `query OrderSeqs($id: ID!) { messages(channelId: $id, first: 100) { edges { node { message seq } } } }`;
const HISTORY = `query OrderHistory($id: ID!) { channel(id: $id) { deliveries(kind: "output", first: 100) { edges { node { messageId attempt status statusCode } } } } }`;

/** Waits of the retry schedule in these tests: 0.3 s twice, so a call is given up after its third attempt. */
const RETRY_SCHEDULE = '0.3,0.3';

interface Arrival {
  text: string;
  at: number;
  status: number;
}

/** A receiver that notes each call (its text, when, what it answered) and how many it held at once. */
async function receiver(answer: (text: string, req: Recorded) => number | Promise<number>, holdMs = 0) {
  const arrivals: Arrival[] = [];
  let open = 0;
  let maxOpen = 0;
  const server = await startServer(async (req, res: ServerResponse) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    const text = (req.json as { message: string }).message;
    const at = Date.now();
    try {
      if (holdMs) await sleep(holdMs);
      const status = await answer(text, req);
      arrivals.push({ text, at, status });
      json(res, status, {});
    } finally {
      open--;
    }
  });
  return { server, arrivals, maxOpen: () => maxOpen, succeeded: () => arrivals.filter((a) => a.status < 300) };
}

function outputSpec(targetUrl: string, name: string) {
  return { data: { descriptions: { app_name: name }, integration_type: 'output', is_active: true, settings: [], target_url: targetUrl } };
}

/** The texts of arrivals, with no call arriving before an earlier one (by seq) succeeded or was given up. */
function expectCommitOrder(arrivals: Arrival[], seqOf: Map<string, number>) {
  const seqs = arrivals.map((a) => seqOf.get(a.text)!);
  for (let i = 1; i < seqs.length; i++) expect(seqs[i], `call ${i} (${arrivals[i].text})`).toBeGreaterThanOrEqual(seqs[i - 1]);
}

for (const db of databases) {
  describe(`ordered delivery and throttles (${db})`, () => {
    let t: TestApp;
    let orgId: string;
    const servers: LocalServer[] = [];

    beforeAll(async () => {
      t = await startTestApp(db, {
        DELIVERY_RETRY_SCHEDULE: RETRY_SCHEDULE,
        // Circuits are another test's subject: here a failing call is only retried.
        DELIVERY_CIRCUIT_FAILURES: '0',
      });
      orgId = await createOrg(t, 'Order');
    });
    afterAll(async () => {
      await t.close();
      await Promise.all(servers.map((s) => s.close()));
    });

    const gql = (query: string, variables: Record<string, unknown> = {}, token?: string | null) => t.gqlData(query, variables, token);
    const post = async (channelId: string, text: string) => {
      const res = await fetch(`${t.url}/v1/webhooks/${channelId}?message=${encodeURIComponent(text)}`);
      expect(res.status).toBe(202);
    };
    const setOptions = async (c: string, i: string, options: { ordered?: boolean | null; maxPerSecond?: number | null }, token?: string) =>
      (await gql(SET_OPTIONS, { c, i, o: options.ordered, m: options.maxPerSecond }, token)).setDeliveryOptions;
    const seqs = async (channelId: string) =>
      new Map<string, number>((await gql(SEQS, { id: channelId })).messages.edges.map((e: any) => [e.node.message, e.node.seq]));
    const history = async (channelId: string) => (await gql(HISTORY, { id: channelId })).channel.deliveries.edges.map((e: any) => e.node);

    async function output(name: string, server: LocalServer) {
      const specs = await serveJson({ '/spec.json': outputSpec(`${server.url}/hook`, name) });
      servers.push(server, specs);
      const integrationId = await addIntegration(t, orgId, `${specs.url}/spec.json`);
      const channel = await createChannel(t, orgId, name);
      const r = await gql(`mutation OrderEnable($i: ID!, $c: ID!) { enableIntegration(input: { integrationId: $i, channelId: $c }) { __typename } }`, { i: integrationId, c: channel.id });
      expect(r.enableIntegration.__typename).toBe('MutationEnableIntegrationSuccess');
      return { integrationId, channelId: channel.id };
    }

    it('an ordered output receives 50 concurrently posted messages one at a time, in commit order', async () => {
      const r = await receiver(() => 202, 10);
      const { integrationId, channelId } = await output('ordered', r.server);
      expect(await setOptions(channelId, integrationId, { ordered: true })).toMatchObject({
        __typename: 'MutationSetDeliveryOptionsSuccess',
        data: { deliveryOptions: { ordered: true, maxPerSecond: null } },
      });

      await Promise.all(Array.from({ length: 50 }, (_, i) => post(channelId, `m${i}`)));
      await until(() => r.arrivals.length >= 50, 60_000, 'the 50 calls');
      const seqOf = await seqs(channelId);
      expect(seqOf.size).toBe(50);
      // Each message once, in seq order, never two at once.
      expect(r.arrivals.map((a) => seqOf.get(a.text))).toEqual([...seqOf.values()].sort((a, b) => a - b));
      expect(r.maxOpen()).toBe(1);
      await sleep(500);
      expect(r.arrivals).toHaveLength(50);
    }, 90_000);

    it('a failing call holds the calls after it until it succeeds', async () => {
      let failures = 0;
      const r = await receiver((text) => (text === 'k3' && failures++ < 2 ? 500 : 202));
      const { integrationId, channelId } = await output('held', r.server);
      await setOptions(channelId, integrationId, { ordered: true });

      // One after the other, so k3 is committed in the middle: k4 to k7 are queued while it fails.
      for (let i = 0; i < 8; i++) await post(channelId, `k${i}`);
      await until(() => r.succeeded().length >= 8, 30_000, 'the 8 calls to succeed');
      const seqOf = await seqs(channelId);
      expect(r.arrivals.filter((a) => a.text === 'k3').map((a) => a.status)).toEqual([500, 500, 202]);
      // Nothing committed after k3 arrived before k3 succeeded.
      const k3 = r.arrivals.findIndex((a) => a.text === 'k3' && a.status === 202);
      const later = r.arrivals.filter((a, i) => seqOf.get(a.text)! > seqOf.get('k3')! && i < k3);
      expect(later).toEqual([]);
      expectCommitOrder(r.arrivals, seqOf);
      expect(r.succeeded().map((a) => seqOf.get(a.text))).toEqual([...seqOf.values()].sort((a, b) => a - b));
    }, 60_000);

    it('a call given up lets the next go', async () => {
      const r = await receiver((text) => (text === 'g2' ? 500 : 202));
      const { integrationId, channelId } = await output('given-up', r.server);
      await setOptions(channelId, integrationId, { ordered: true });

      for (let i = 0; i < 6; i++) await post(channelId, `g${i}`);
      await until(() => r.succeeded().length >= 5 && r.arrivals.filter((a) => a.text === 'g2').length >= 3, 30_000, 'g2 given up and the others sent');
      const seqOf = await seqs(channelId);
      const g2 = r.arrivals.filter((a) => a.text === 'g2');
      // Its three attempts (the first and two retries); the calls committed after it come after the last, not before.
      expect(g2.map((a) => a.status)).toEqual([500, 500, 500]);
      const lastG2 = r.arrivals.lastIndexOf(g2[2]);
      expect(r.arrivals.slice(lastG2 + 1).map((a) => a.text)).toEqual(['g3', 'g4', 'g5']);
      expectCommitOrder(r.arrivals, seqOf);
      const rows = await history(channelId);
      expect(rows.filter((d: any) => d.status === 'failed')).toHaveLength(1);
      expect(rows.filter((d: any) => d.status === 'retried')).toHaveLength(2);
    }, 60_000);

    it('an unordered output (the default) still receives its calls in parallel', async () => {
      let release!: () => void;
      const all = new Promise<void>((resolve) => (release = resolve));
      let arrived = 0;
      const r = await receiver(async () => {
        if (++arrived === 5) release();
        // Held until all five are in flight at once (or, failing that, a while).
        await Promise.race([all, sleep(10_000)]);
        return 202;
      });
      const { integrationId, channelId } = await output('parallel', r.server);
      const options = await gql(OPTIONS, { id: channelId });
      expect(options.channel.integrations).toEqual([{ integration: { id: integrationId }, deliveryOptions: { ordered: false, maxPerSecond: null } }]);

      await Promise.all(Array.from({ length: 5 }, (_, i) => post(channelId, `p${i}`)));
      await until(() => r.arrivals.length >= 5, 30_000, 'the 5 calls');
      expect(r.maxOpen()).toBe(5);
    }, 60_000);

    it('a throttle of 5 per second spaces 20 calls over more than 3 seconds, none held as a failed attempt', async () => {
      const r = await receiver(() => 202);
      const { integrationId, channelId } = await output('throttled', r.server);
      expect((await setOptions(channelId, integrationId, { maxPerSecond: 5 })).data.deliveryOptions).toEqual({ ordered: false, maxPerSecond: 5 });

      await Promise.all(Array.from({ length: 20 }, (_, i) => post(channelId, `t${i}`)));
      await until(() => r.arrivals.length >= 20, 60_000, 'the 20 calls');
      // At 5 per second, 20 calls need 19 intervals of 200 ms: more than 3 s from the first to the last, whatever
      // the machine's speed (a property of the throttle, not a performance figure).
      const times = r.arrivals.map((a) => a.at).sort((a, b) => a - b);
      expect(times[19] - times[0]).toBeGreaterThanOrEqual(3_000);
      // A call is recorded once its answer is back: the last ones may still be in flight when the receiver has them.
      const rows = await until(async () => {
        const all = await history(channelId);
        return all.length === 20 && all.every((d: any) => d.status !== 'pending') && all;
      }, 15_000, 'the 20 calls recorded');
      expect(rows.map((d: any) => [d.status, d.attempt])).toEqual(Array.from({ length: 20 }, () => ['succeeded', 1]));

      // null removes the throttle; leaving `ordered` out keeps it.
      expect((await setOptions(channelId, integrationId, { maxPerSecond: null })).data.deliveryOptions).toEqual({ ordered: false, maxPerSecond: null });
    }, 90_000);

    it('refuses a bad throttle with a field error, a member, and another organisation\'s link', async () => {
      const r = await receiver(() => 202);
      const { integrationId, channelId } = await output('guarded', r.server);
      for (const m of [0, -3, 100_000]) {
        expect(await setOptions(channelId, integrationId, { maxPerSecond: m }), String(m)).toMatchObject({ __typename: 'ValidationError', field: 'maxPerSecond' });
      }
      // Nothing was changed by the refusals.
      expect((await gql(OPTIONS, { id: channelId })).channel.integrations[0].deliveryOptions).toEqual({ ordered: false, maxPerSecond: null });

      const member = await createUser(t, `order-member-${db}`);
      await addMember(t, orgId, member.id, 'MEMBER');
      expect((await setOptions(channelId, integrationId, { ordered: true }, member.token)).__typename).toBe('ForbiddenError');

      // Another organisation's channel and integration: not found, whichever is named.
      const other = await createOrg(t, 'Elsewhere');
      const theirs = await createChannel(t, other, 'theirs');
      expect((await setOptions(theirs.id, integrationId, { ordered: true })).__typename).toBe('NotFoundError');
      const otherSpecs = await serveJson({ '/spec.json': outputSpec(`${r.server.url}/hook`, 'theirs') });
      servers.push(otherSpecs);
      const theirIntegration = await addIntegration(t, other, `${otherSpecs.url}/spec.json`);
      expect((await setOptions(channelId, theirIntegration, { ordered: true })).__typename).toBe('NotFoundError');

      // An integration not switched on for the channel.
      const unlinked = await createChannel(t, orgId, 'unlinked');
      expect(await setOptions(unlinked.id, integrationId, { ordered: true })).toMatchObject({ __typename: 'ConflictError' });
    });
  });
}

for (const c of GATEWAY_PAIR_CASES) {
  describe.skipIf(!c.available)(`ordered delivery and throttles across two gateway processes on one Redis (${c.label})`, () => {
    let pair: GatewayPair | undefined;
    let a: GatewayProcess;
    let b: GatewayProcess;
    const servers: LocalServer[] = [];

    beforeAll(async () => {
      pair = await startGatewayPair(c.db);
      ({ a, b } = pair);
    }, 120_000);

    afterAll(async () => {
      await pair?.stop();
      await Promise.all(servers.map((s) => s.close()));
    });

    async function output(name: string, server: LocalServer, options: { ordered?: boolean; maxPerSecond?: number }) {
      const api = remoteGateway(a.url);
      const specs = await serveJson({ '/spec.json': outputSpec(`${server.url}/hook`, name) });
      servers.push(server, specs);
      const orgId = await createOrg(api, name);
      const integrationId = await addIntegration(api, orgId, `${specs.url}/spec.json`);
      const channel = await createChannel(api, orgId, name);
      const enabled = await api.gqlRaw(`mutation OrderEnable2($i: ID!, $c: ID!) { enableIntegration(input: { integrationId: $i, channelId: $c }) { __typename } }`, { i: integrationId, c: channel.id });
      expect(enabled.data).toEqual({ enableIntegration: { __typename: 'MutationEnableIntegrationSuccess' } });
      const set = await api.gqlRaw(SET_OPTIONS, { c: channel.id, i: integrationId, o: options.ordered, m: options.maxPerSecond });
      // Set before either replica has read the channel's route, so both see it from their first post.
      expect((set.data as any).setDeliveryOptions.__typename).toBe('MutationSetDeliveryOptionsSuccess');
      return { channelId: channel.id, api };
    }

    const post = async (url: string, channelId: string, text: string) => {
      const res = await fetch(`${url}/v1/webhooks/${channelId}?message=${encodeURIComponent(text)}`);
      expect(res.status).toBe(202);
    };

    it('posts through both replicas reach an ordered output in commit order, one at a time', async () => {
      const r = await receiver(() => 202, 10);
      const { channelId, api } = await output('ordered-replicas', r.server, { ordered: true });
      await Promise.all(Array.from({ length: 30 }, (_, i) => post(i % 2 ? b.url : a.url, channelId, `r${i}`)));
      await until(() => r.arrivals.length >= 30, 60_000, 'the 30 calls');
      const page = (await api.gqlRaw(SEQS, { id: channelId })).data as any;
      const seqOf = new Map<string, number>(page.messages.edges.map((e: any) => [e.node.message, e.node.seq]));
      expect(r.arrivals.map((x) => seqOf.get(x.text))).toEqual([...seqOf.values()].sort((x, y) => x - y));
      expect(r.maxOpen()).toBe(1);
    }, 90_000);

    it('one throttle for both replicas: 20 calls at 5 per second take more than 3 seconds', async () => {
      const r = await receiver(() => 202);
      const { channelId } = await output('throttled-replicas', r.server, { maxPerSecond: 5 });
      // Each replica commits and sends its own ten: only a shared count keeps them to 5 per second together.
      await Promise.all(Array.from({ length: 20 }, (_, i) => post(i % 2 ? b.url : a.url, channelId, `s${i}`)));
      await until(() => r.arrivals.length >= 20, 60_000, 'the 20 calls');
      const times = r.arrivals.map((x) => x.at).sort((x, y) => x - y);
      expect(times[19] - times[0]).toBeGreaterThanOrEqual(3_000);
    }, 90_000);
  });
}
