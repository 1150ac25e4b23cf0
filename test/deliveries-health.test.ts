/**
 * Endpoint health against real local HTTP servers: failures in a row open a target's circuit (nothing is sent during
 * the cool-down), one probe closes it once the endpoint is fixed, a target failing for DELIVERY_DISABLE_AFTER_HOURS is
 * disabled with its reason until an admin re-enables it; `health` on the channel's integration link and /metrics
 * show each change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { json, serveJson, startServer, type LocalServer } from './support/http-server.js';
import { addIntegration, addMember, createChannel, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';
import { sleep, until } from './support/wait.js';

const HEALTH = `query HealthOfLink($id: ID!) { channel(id: $id) { integrations { integration { id } health {
  state consecutiveFailures failingSince openUntil failureRate attempts failures lastError lastErrorAt lastSuccessAt disabledReason disabledAt } } } }`;

const REENABLE = `mutation HealthReenable($c: ID!, $i: ID!) { reenableDeliveryTarget(input: { channelId: $c, integrationId: $i }) {
  __typename ... on MutationReenableDeliveryTargetSuccess { data { state consecutiveFailures disabledReason } } ... on Error { message } } }`;

const FAILURES = 3;
const COOLDOWN_S = 2;
/** 9 seconds. */
const DISABLE_AFTER_H = 0.0025;

function transitions(metrics: string, transition: string) {
  const line = metrics.split('\n').find((l) => l.startsWith('switchboard_delivery_target_transitions_total{') && l.includes(`transition="${transition}"`) && l.includes('kind="output"'));
  return line ? Number(line.split(' ').pop()) : 0;
}

for (const db of databases) {
  describe(`endpoint health (${db})`, () => {
    let t: TestApp;
    let orgId: string;
    const servers: LocalServer[] = [];

    beforeAll(async () => {
      t = await startTestApp(db, {
        DELIVERY_CIRCUIT_FAILURES: String(FAILURES),
        DELIVERY_CIRCUIT_COOLDOWN_SECONDS: String(COOLDOWN_S),
        DELIVERY_DISABLE_AFTER_HOURS: String(DISABLE_AFTER_H),
      });
      orgId = await createOrg(t, 'Health');
    });
    afterAll(async () => {
      await t.close();
      await Promise.all(servers.map((s) => s.close()));
    });

    const gql = (query: string, variables: Record<string, unknown> = {}, token?: string | null) => t.gqlData(query, variables, token);
    const health = async (channelId: string) => (await gql(HEALTH, { id: channelId })).channel.integrations[0].health;
    const metrics = async () => (await fetch(`${t.url}/metrics`)).text();
    /**
     * The transition's count once it reaches `expected` (or what it is after 5 s). The worker counts a change after
     * recording the attempt that caused it, so a reader can see the new state a moment before the count.
     */
    const counted = async (transition: string, expected: number) => {
      let seen = 0;
      await until(async () => (seen = transitions(await metrics(), transition)) >= expected, 5_000).catch(() => undefined);
      return seen;
    };
    const post = async (channelId: string, text: string) => expect((await fetch(`${t.url}/v1/webhooks/${channelId}?message=${encodeURIComponent(text)}`)).status).toBe(202);

    async function target(name: string, answer: () => number) {
      const receiver = await startServer((_req, res) => json(res, answer(), {}));
      const specs = await serveJson({
        '/spec.json': { data: { descriptions: { app_name: name }, integration_type: 'output', is_active: true, settings: [], target_url: `${receiver.url}/hook` } },
      });
      servers.push(receiver, specs);
      const integrationId = await addIntegration(t, orgId, `${specs.url}/spec.json`);
      const channel = await createChannel(t, orgId, name);
      const r = await gql(`mutation HealthEnable($i: ID!, $c: ID!) { enableIntegration(input: { integrationId: $i, channelId: $c }) { __typename } }`, { i: integrationId, c: channel.id });
      expect(r.enableIntegration.__typename).toBe('MutationEnableIntegrationSuccess');
      return { receiver, integrationId, channelId: channel.id };
    }

    it('opens the circuit after failures in a row, sends nothing during the cool-down, and closes it with one probe once fixed', async () => {
      let status = 500;
      const { receiver, channelId } = await target('circuit', () => status);
      const openedBefore = transitions(await metrics(), 'opened');
      const closedBefore = transitions(await metrics(), 'closed');
      expect(await health(channelId)).toMatchObject({ state: 'CLOSED', consecutiveFailures: 0, attempts: 0, failureRate: null });

      for (let i = 0; i < FAILURES; i++) await post(channelId, `failing ${i}`);
      const open = await until(async () => {
        const h = await health(channelId);
        // The target's state is written before the attempt's row: wait for both.
        return h.state === 'OPEN' && h.attempts === FAILURES ? h : null;
      });
      expect(open).toMatchObject({ consecutiveFailures: FAILURES, lastError: 'HTTP 500', failures: FAILURES, attempts: FAILURES, failureRate: 1 });
      expect(await counted('opened', openedBefore + 1)).toBe(openedBefore + 1);
      const sentWhenOpened = receiver.requests.length;

      // While open, new calls wait: nothing reaches the endpoint before the cool-down ends.
      status = 202;
      await post(channelId, 'held 1');
      await post(channelId, 'held 2');
      const openUntil = new Date(open.openUntil).getTime();
      await sleep(Math.max(0, openUntil - Date.now() - 300));
      expect(receiver.requests.length).toBe(sentWhenOpened);

      // Then one probe; it succeeds, the circuit closes, and the held calls follow.
      const closed = await until(async () => {
        const h = await health(channelId);
        return h.state === 'CLOSED' ? h : null;
      });
      expect(closed).toMatchObject({ consecutiveFailures: 0, failingSince: null });
      expect(closed.lastSuccessAt).not.toBeNull();
      await until(() => {
        const texts = receiver.requests.map((r) => (r.json as { message: string }).message);
        return texts.includes('held 1') && texts.includes('held 2');
      });
      expect(await counted('closed', closedBefore + 1)).toBe(closedBefore + 1);
    });

    it('disables a target that keeps failing, fails its calls unsent with the reason, and an admin re-enables it', async () => {
      let status = 503;
      const { receiver, channelId, integrationId } = await target('doomed', () => status);
      const disabledBefore = transitions(await metrics(), 'disabled');
      await post(channelId, 'first failure');
      const started = Date.now();
      // Keep calling: each one fails, or waits for the circuit's probe.
      const disabled = await until(
        async () => {
          await post(channelId, `again ${Date.now() - started}`);
          await sleep(400);
          const h = await health(channelId);
          return h.state === 'DISABLED' ? h : null;
        },
        30_000,
        'the target to be disabled',
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(DISABLE_AFTER_H * 3_600_000 - 1_000);
      expect(disabled.disabledReason).toMatch(/failing without a success since .*last error: HTTP 503/);
      expect(disabled.disabledAt).not.toBeNull();
      expect(await counted('disabled', disabledBefore + 1)).toBe(disabledBefore + 1);

      // A call to a disabled target fails at once, unsent.
      status = 202;
      await sleep(1_500);
      const sent = receiver.requests.length;
      await post(channelId, 'while disabled');
      const rows = await until(async () => {
        const r = await gql(`query HealthRows($id: ID!) { channel(id: $id) { deliveries(first: 1) { edges { node { status error } } } } }`, { id: channelId });
        const row = r.channel.deliveries.edges[0].node;
        return row.status !== 'pending' && /disabled/.test(row.error ?? '') ? row : null;
      });
      expect(rows).toMatchObject({ status: 'failed' });
      expect(receiver.requests.length).toBe(sent);

      // Members may not re-enable; an admin does, and calls go out again.
      const member = await createUser(t, `health-member-${db}`);
      await addMember(t, orgId, member.id, 'MEMBER');
      expect((await gql(REENABLE, { c: channelId, i: integrationId }, member.token)).reenableDeliveryTarget.__typename).toBe('ForbiddenError');
      const reenabled = (await gql(REENABLE, { c: channelId, i: integrationId })).reenableDeliveryTarget;
      expect(reenabled).toMatchObject({ __typename: 'MutationReenableDeliveryTargetSuccess', data: { state: 'CLOSED', consecutiveFailures: 0, disabledReason: null } });
      expect(transitions(await metrics(), 'reenabled')).toBeGreaterThanOrEqual(1);
      await post(channelId, 'after re-enabling');
      await until(() => receiver.requests.some((r) => (r.json as { message: string }).message === 'after re-enabling'));
    });
  });
}
