/**
 * Interval integrations through the real doors: a local HTTP server plays the integration (serves its
 * spec, answers ticks with 202 and posts back to return_url), a graphql-ws subscriber watches the
 * channel. Fast schedules use 6-field crontab text, the same path as the 5-field crontab of Telex.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { graphql } from './gql/index.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './support/app.js';
import { json, startServer, type LocalServer, type Recorded } from './support/http-server.js';
import { addIntegration, createChannel, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';
import { reconcileTicks, runSlot, TICK_JOB } from '../src/modules/ticks/ticks.service.js';
import { TickPair } from '../src/modules/ticks/tick-pair.entity.js';
import { keySlot } from '../src/modules/ticks/tick-slots.js';
import { until, sleep } from './support/wait.js';

const Enable = graphql(`
  mutation TickEnable($integrationId: ID!, $channelId: ID!) {
    enableIntegration(input: { integrationId: $integrationId, channelId: $channelId }) { __typename ... on Error { message } }
  }
`);
const Disable = graphql(`
  mutation TickDisable($integrationId: ID!, $channelId: ID!) {
    disableIntegration(input: { integrationId: $integrationId, channelId: $channelId }) { __typename ... on Error { message } }
  }
`);
const SetChannelSetting = graphql(`
  mutation TickSetChannelSetting($integrationId: ID!, $channelId: ID!, $label: String!, $value: JSON) {
    setChannelIntegrationSetting(input: { integrationId: $integrationId, channelId: $channelId, label: $label, value: $value }) {
      __typename
      ... on ValidationError { field message }
      ... on Error { message }
    }
  }
`);
const RemoveIntegration = graphql(`
  mutation TickRemoveIntegration($id: ID!) { removeIntegration(input: { id: $id }) { __typename ... on Error { message } } }
`);
const DeleteChannel = graphql(`
  mutation TickDeleteChannel($id: ID!) { deleteChannel(input: { id: $id }) { __typename ... on Error { message } } }
`);
const TickTimes = graphql(`
  query TickTimes($id: ID!) {
    channel(id: $id) { integrations { integration { id integrationType } nextTickAt lastTickAt missedSlots } }
  }
`);
const TickDeliveries = graphql(`
  query TickDeliveries($id: ID!) {
    channel(id: $id) { deliveries(kind: "tick", first: 50) { edges { node { kind status statusCode url attempt error } } } }
  }
`);

function intervalSpec(tickUrl: string, interval: string) {
  return {
    data: {
      descriptions: { app_name: 'Uptime pinger', app_description: 'Pings a site', app_url: 'https://example.com', app_logo: 'https://example.com/logo.png', background_color: '#fff' },
      integration_type: 'interval',
      integration_category: 'Monitoring & Logging',
      key_features: ['pings'],
      author: 'test',
      settings: [
        { label: 'interval', type: 'text', required: true, default: interval },
        { label: 'timeout', type: 'number', required: false, default: 7 },
        { label: 'site', type: 'text', required: true, default: 'https://example.com' },
      ],
      tick_url: tickUrl,
      target_url: '',
    },
  };
}

/** A crontab no real slot of which comes during the tests: only the runs a test makes tick it. */
const YEARLY = '0 0 1 1 *';

interface TickBody {
  channel_id: string;
  return_url: string;
  settings: { label: string; type: string; default: unknown }[];
}

for (const db of databases) {
  describe(`interval integrations (${db})`, () => {
    let t: TestApp;
    let integration: LocalServer;
    let ticks: { at: number; body: TickBody; path: string; webhookId: string }[];
    let failing = false;
    const clients: Client[] = [];

    beforeAll(async () => {
      ticks = [];
      integration = await startServer(async (req: Recorded, res) => {
        const path = req.url.split('?')[0];
        if (path.startsWith('/spec/')) {
          const interval = path.endsWith('slow') ? '*/5 * * * * *' : path.endsWith('yearly') ? YEARLY : '* * * * * *';
          return json(res, 200, intervalSpec(`${integration.url}/tick/${path.slice(6)}`, interval));
        }
        if (path.startsWith('/tick/')) {
          const body = req.json as TickBody;
          ticks.push({ at: Date.now(), body, path, webhookId: String(req.headers['webhook-id']) });
          if (failing) return json(res, 500, { error: 'down' });
          json(res, 202, { status: 'accepted' });
          // Like a real interval integration: answer first, post the result back later.
          if (path.endsWith('/echo')) {
            setTimeout(() => {
              void fetch(body.return_url, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ message: `site is up (${body.settings.find((s) => s.label === 'site')?.default})`, username: 'Uptime pinger', event_name: 'Uptime check', status: 'success' }),
              });
            }, 10);
          }
          return;
        }
        json(res, 404, {});
      });
      t = await startTestApp(db, { AGENDA_PROCESS_EVERY_MS: '200' });
    });
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.dispose()));
      await t?.close();
      await integration?.close();
    });

    /** The tick rows of pairs, and the job of a schedule. */
    const pairs = async (where: { integrationId?: string; channelId?: string }) => t.app.orm.em.fork().find(TickPair, where);
    const scheduleJobs = async (schedule: string) => (await t.app.deps.scheduler.agenda.queryJobs({ name: TICK_JOB, data: { schedule } })).jobs;

    function subscribe(channelId: string) {
      const client = createClient({ url: `${t.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` }, retryAttempts: 0 });
      clients.push(client);
      const events: { message: string; source: string; username: string; eventName: string; status: string }[] = [];
      client.subscribe(
        { query: 'subscription($channelId: ID!) { channelMessages(channelId: $channelId) { message source username eventName status } }', variables: { channelId } },
        { next: (r) => void events.push((r.data as { channelMessages: (typeof events)[number] }).channelMessages), error: () => {}, complete: () => {} },
      );
      return events;
    }

    it('ticks on the interval in force, posts the documented body, and the post-back reaches subscribers', async () => {
      const org = await createOrg(t, 'Ticks');
      const channel = await createChannel(t, org, 'status');
      const integrationId = await addIntegration(t, org, `${integration.url}/spec/echo`);
      const events = subscribe(channel.id);
      await sleep(200);

      expect((await t.gql(Enable, { integrationId, channelId: channel.id })).enableIntegration.__typename).toBe('MutationEnableIntegrationSuccess');
      await until(() => events.length >= 2);

      const mine = ticks.filter((x) => x.body.channel_id === channel.id);
      expect(mine.length).toBeGreaterThanOrEqual(2);
      const body = mine[0].body;
      expect(Object.keys(body).sort()).toEqual(['channel_id', 'return_url', 'settings']);
      expect(body.return_url).toMatch(new RegExp(`^${t.url}/v1/return/${channel.id}(\\?token=.+)?$`));
      expect(body.settings.map((s) => [s.label, s.default])).toEqual([
        ['interval', '* * * * * *'],
        ['timeout', 7],
        ['site', 'https://example.com'],
      ]);
      // One per slot: never two ticks in the same second.
      expect(new Set(mine.map((x) => Math.floor(x.at / 1000))).size).toBe(mine.length);

      expect(events[0]).toEqual({ message: 'site is up (https://example.com)', source: 'tick', username: 'Uptime pinger', eventName: 'Uptime check', status: 'success' });

      const { channel: read } = await t.gql(TickTimes, { id: channel.id });
      const link = read!.integrations.find((l) => l.integration.id === integrationId)!;
      expect(new Date(link.lastTickAt!).getTime()).toBeLessThanOrEqual(Date.now());
      expect(new Date(link.nextTickAt!).getTime()).toBeGreaterThan(new Date(link.lastTickAt!).getTime());

      const deliveries = (await t.gql(TickDeliveries, { id: channel.id })).channel!.deliveries.edges.map((e) => e.node);
      expect(deliveries.length).toBeGreaterThanOrEqual(2);
      expect(deliveries[0]).toMatchObject({ kind: 'tick', status: 'succeeded', statusCode: 202, url: `${integration.url}/tick/echo` });

      // Switching it on again never makes a second row, nor a second job for its schedule.
      await t.gql(Enable, { integrationId, channelId: channel.id });
      expect(await pairs({ integrationId, channelId: channel.id })).toHaveLength(1);
      expect(await scheduleJobs('* * * * * *')).toHaveLength(1);

      await t.gql(Disable, { integrationId, channelId: channel.id });
      expect(await pairs({ integrationId, channelId: channel.id })).toHaveLength(0);
      const after = ticks.length;
      await sleep(1_500);
      expect(ticks.length - after).toBeLessThanOrEqual(1); // at most a tick already in flight
      const { channel: off } = await t.gql(TickTimes, { id: channel.id });
      expect(off!.integrations).toHaveLength(0);
    });

    it('reschedules when the interval setting changes and refuses an invalid crontab', async () => {
      const org = await createOrg(t, 'Resched');
      const channel = await createChannel(t, org, 'c');
      const integrationId = await addIntegration(t, org, `${integration.url}/spec/quiet-slow`);
      await t.gql(Enable, { integrationId, channelId: channel.id });
      const [pair] = await pairs({ integrationId, channelId: channel.id });
      expect(pair.schedule).toBe('*/5 * * * * *');
      expect((await scheduleJobs('*/5 * * * * *'))[0].repeatInterval).toBe('*/5 * * * * *');

      const bad = (await t.gql(SetChannelSetting, { integrationId, channelId: channel.id, label: 'interval', value: 'every now and then' })).setChannelIntegrationSetting;
      expect(bad).toMatchObject({ __typename: 'ValidationError', field: 'value' });
      expect(JSON.stringify(bad)).toMatch(/crontab/);

      const ok = await t.gql(SetChannelSetting, { integrationId, channelId: channel.id, label: 'interval', value: '0 */2 * * *' });
      expect(ok.setChannelIntegrationSetting.__typename).toBe('MutationSetChannelIntegrationSettingSuccess');
      const [moved] = await pairs({ integrationId, channelId: channel.id });
      expect(moved.schedule).toBe('0 */2 * * *');
      const [job] = await scheduleJobs('0 */2 * * *');
      expect(job.repeatInterval).toBe('0 */2 * * *');
      expect(job.nextRunAt!.getUTCMinutes()).toBe(0);
      expect(job.nextRunAt!.getUTCHours() % 2).toBe(0);
      expect(await pairs({ integrationId })).toHaveLength(1);
      const { channel: read } = await t.gql(TickTimes, { id: channel.id });
      expect(new Date(read!.integrations[0].nextTickAt!).getTime()).toBe(job.nextRunAt!.getTime());
      // The pair was the only one on its crontab: switching it off removes the schedule's job.
      await t.gql(Disable, { integrationId, channelId: channel.id });
      expect(await scheduleJobs('0 */2 * * *')).toHaveLength(0);
    });

    it('reconciles at start with intervals stored as text at both levels (PostgreSQL hands JSON strings back decoded)', async () => {
      const org = await createOrg(t, 'Stored');
      const a = await createChannel(t, org, 'a');
      const b = await createChannel(t, org, 'b');
      const integrationId = await addIntegration(t, org, `${integration.url}/spec/quiet-slow`);
      await t.gql(Enable, { integrationId, channelId: a.id });
      await t.gql(Enable, { integrationId, channelId: b.id });
      const orgLevel = await t.gqlData('mutation($i: ID!) { setIntegrationSetting(input: { integrationId: $i, label: "interval", value: "0 0 * * *" }) { __typename } }', { i: integrationId });
      expect(orgLevel.setIntegrationSetting.__typename).toBe('MutationSetIntegrationSettingSuccess');
      await t.gql(SetChannelSetting, { integrationId, channelId: b.id, label: 'interval', value: '0 */3 * * *' });
      // What a restart does: every pair is read back from the stored rows.
      const done = await reconcileTicks({ em: t.app.orm.em.fork(), deps: t.app.deps });
      expect(done.pairs).toBeGreaterThanOrEqual(2);
      expect((await pairs({ integrationId, channelId: a.id }))[0].schedule).toBe('0 0 * * *');
      expect((await pairs({ integrationId, channelId: b.id }))[0].schedule).toBe('0 */3 * * *');
      await t.gql(RemoveIntegration, { id: integrationId });
    });

    it('removes the job when the channel or the integration goes', async () => {
      const org = await createOrg(t, 'Removal');
      const a = await createChannel(t, org, 'a');
      const b = await createChannel(t, org, 'b');
      const integrationId = await addIntegration(t, org, `${integration.url}/spec/quiet-slow`);
      await t.gql(Enable, { integrationId, channelId: a.id });
      await t.gql(Enable, { integrationId, channelId: b.id });
      expect(await pairs({ integrationId })).toHaveLength(2);
      await t.gql(DeleteChannel, { id: a.id });
      expect((await pairs({ integrationId })).map((p) => p.channelId)).toEqual([b.id]);
      await t.gql(RemoveIntegration, { id: integrationId });
      expect(await pairs({ integrationId })).toHaveLength(0);
    });

    it('retries a failing tick_url within the slot, records each attempt, then waits for the next slot', async () => {
      const org = await createOrg(t, 'Failing');
      const channel = await createChannel(t, org, 'c');
      const integrationId = await addIntegration(t, org, `${integration.url}/spec/failing-slow`);
      failing = true;
      try {
        await t.gql(Enable, { integrationId, channelId: channel.id });
        const [job] = await scheduleJobs('*/5 * * * * *');
        const slot = job.nextRunAt!.getTime();
        // The slot's attempts: 1 + 1 s + 2 s (the next pause, 4 s, would cross into the next 5 s slot).
        await until(() => ticks.filter((x) => x.body.channel_id === channel.id).length >= 3, 12_000);
        await sleep(Math.max(0, slot + 4_700 - Date.now()));
        const inSlot = ticks.filter((x) => x.body.channel_id === channel.id && x.at >= slot && x.at < slot + 5_000);
        expect(inSlot).toHaveLength(3);
        const deliveries = (await t.gql(TickDeliveries, { id: channel.id })).channel!.deliveries.edges.map((e) => e.node);
        expect(deliveries.filter((d) => d.statusCode === 500)).toHaveLength(3);
        expect(deliveries.every((d) => d.kind === 'tick' && d.status === 'failed' && d.error === 'HTTP 500')).toBe(true);
        // Each try of the slot's tick is numbered (newest first).
        expect(deliveries.slice(0, 3).map((d) => d.attempt)).toEqual([3, 2, 1]);
      } finally {
        failing = false;
      }
      await t.gql(Disable, { integrationId, channelId: channel.id });
    });

    it('accepts post-backs by POST and GET with the four fields, and refuses bad ones with the field named', async () => {
      const org = await createOrg(t, 'Returns');
      const channel = await createChannel(t, org, 'c');
      const other = await createChannel(t, org, 'other');
      const integrationId = await addIntegration(t, org, `${integration.url}/spec/quiet-slow`);
      await t.gql(Enable, { integrationId, channelId: channel.id });
      const events = subscribe(channel.id);
      await sleep(200);

      const post = (channelId: string, body: unknown, query = '') =>
        fetch(`${t.url}/v1/return/${channelId}${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

      const plain = await post(channel.id, { message: 'posted', username: 'bot', event_name: 'Report', status: 'success' });
      expect(plain.status).toBe(202);
      expect(await plain.json()).toMatchObject({ status: 'success', status_code: 202, data: { id: expect.any(String) } });

      const got = await fetch(`${t.url}/v1/return/${channel.id}?message=by%20get&event_name=Report&status=error&username=bot`);
      expect(got.status).toBe(202);
      await until(() => events.length >= 2);
      expect(events.map((e) => [e.message, e.source, e.status])).toEqual([
        ['posted', 'tick', 'success'],
        ['by get', 'tick', 'error'],
      ]);

      // A token is bound to its integration and channel.
      const [tick] = await new Promise<TickBody[]>((resolve) => {
        // Read the token the gateway issues from a real tick of this pair.
        const started = ticks.length;
        const check = setInterval(() => {
          const found = ticks.slice(started).filter((x) => x.body.channel_id === channel.id);
          if (found.length) {
            clearInterval(check);
            resolve(found.map((x) => x.body));
          }
        }, 50);
      });
      const token = new URL(tick.return_url).searchParams.get('token')!;
      expect(token).toBeTruthy();
      expect((await post(channel.id, { message: 'with token' }, `?token=${token}`)).status).toBe(202);
      await until(() => events.length >= 3);
      expect(events[2]).toMatchObject({ message: 'with token', username: 'Uptime pinger' });
      const wrongChannel = await post(other.id, { message: 'x' }, `?token=${token}`);
      expect(wrongChannel.status).toBe(403);
      expect(await wrongChannel.json()).toMatchObject({ status: 'error', status_code: 403 });

      const missing = await post(channel.id, { username: 'bot' });
      expect(missing.status).toBe(400);
      expect(await missing.json()).toMatchObject({ errors: [{ field: 'message' }] });
      const notText = await post(channel.id, { message: { nested: true } });
      expect(notText.status).toBe(400);
      expect(await notText.json()).toMatchObject({ errors: [{ field: 'message' }] });
      const badStatus = await post(channel.id, { message: 'x', status: ['a'] });
      expect(await badStatus.json()).toMatchObject({ status_code: 400, errors: [{ field: 'status' }] });
      const notObject = await post(channel.id, ['message']);
      expect(notObject.status).toBe(400);
      const unknown = await post('00000000-0000-4000-8000-000000000000', { message: 'x' });
      expect(unknown.status).toBe(404);
      const notUuid = await post('nope', { message: 'x' });
      expect(notUuid.status).toBe(404);
      const getMissing = await fetch(`${t.url}/v1/return/${channel.id}?username=bot`);
      expect(getMissing.status).toBe(400);
      await t.gql(Disable, { integrationId, channelId: channel.id });
    });

    it('ticks each pair once per slot however many runs of the slot there are, keyed by the slot, and counts missed slots', async () => {
      const org = await createOrg(t, 'Keys');
      const a = await createChannel(t, org, 'k1');
      const b = await createChannel(t, org, 'k2');
      const integrationId = await addIntegration(t, org, `${integration.url}/spec/keyed-yearly`);
      await t.gql(Enable, { integrationId, channelId: a.id });
      await t.gql(Enable, { integrationId, channelId: b.id });
      const mine = () => ticks.filter((x) => x.body.channel_id === a.id || x.body.channel_id === b.id);
      const run = (slot: number) => runSlot({ em: t.app.orm.em.fork(), deps: t.app.deps }, YEARLY, slot);
      const year = (y: number) => Date.UTC(y, 0, 1);

      // Three runs of one slot at once (two replicas and a retried job): each pair is claimed by one of them.
      const runs = await Promise.all([run(year(2027)), run(year(2027)), run(year(2027))]);
      expect(runs.map((r) => r.claimed).reduce((x, y) => x + y)).toBe(2);
      await until(() => mine().length >= 2);
      expect((await run(year(2027))).claimed).toBe(0);
      await sleep(500);
      const first = mine();
      expect(first).toHaveLength(2);
      // The idempotency key (webhook-id) holds the slot and differs per pair.
      expect(first.map((x) => keySlot(x.webhookId))).toEqual([year(2027), year(2027)]);
      expect(new Set(first.map((x) => x.webhookId)).size).toBe(2);

      // The next slot is a new key; a run three slots later counts the two it skipped, per pair.
      expect((await run(year(2028))).claimed).toBe(2);
      const missed = await run(year(2031));
      expect(missed).toMatchObject({ claimed: 2, missed: 4 });
      await until(() => mine().length >= 6);
      const keys = mine().map((x) => x.webhookId);
      expect(new Set(keys).size).toBe(6);
      expect(mine().map((x) => keySlot(x.webhookId)).sort()).toEqual([2027, 2027, 2028, 2028, 2031, 2031].map(year));

      const { channel: read } = await t.gql(TickTimes, { id: a.id });
      expect(read!.integrations[0]).toMatchObject({ missedSlots: 2, nextTickAt: expect.any(String), lastTickAt: expect.any(String) });
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      expect(Number(/^switchboard_tick_missed_slots_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(4);
      await t.gql(RemoveIntegration, { id: integrationId });
    });

    it('shows the job store to administrators only', async () => {
      const org = await createOrg(t, 'Dashboard');
      const channel = await createChannel(t, org, 'c');
      await t.gql(Enable, { integrationId: await addIntegration(t, org, `${integration.url}/spec/quiet-slow`), channelId: channel.id });
      const anonymous = await fetch(`${t.url}/admin/jobs/api`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic/);
      const wrong = await fetch(`${t.url}/admin/jobs/api`, { headers: { authorization: `Basic ${Buffer.from('x:not-a-token').toString('base64')}` } });
      expect(wrong.status).toBe(401);
      const basic = await fetch(`${t.url}/admin/jobs/api?job=${TICK_JOB}`, { headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` } });
      expect(basic.status).toBe(200);
      const listing = (await basic.json()) as { overview: { displayName: string }[] };
      expect(listing.overview.map((o) => o.displayName)).toContain(TICK_JOB);
      const user = await createUser(t, 'not an admin');
      const member = await fetch(`${t.url}/admin/jobs/api`, { headers: { authorization: `Bearer ${user.token}` } });
      expect(member.status).toBe(403);
      const page = await fetch(`${t.url}/admin/jobs/`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<html/i);
    });
  });
}
