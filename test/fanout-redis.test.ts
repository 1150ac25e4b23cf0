import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { spawnGateway, type GatewayProcess } from '../bench/spawn.js';
import { ADMIN_TOKEN, remoteGateway } from './support/app.js';
import { createChannel, createOrg } from './support/seed.js';
import { freshDatabase, postgresAvailable, redisAvailable, REDIS_URL } from './support/services.js';
import { until } from './support/wait.js';

const SUBSCRIPTION = 'subscription($channelId: ID!) { channelMessages(channelId: $channelId) { id message } }';

describe.skipIf(!postgresAvailable || !redisAvailable)('fan-out across two gateway processes on one Redis and one PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let a: GatewayProcess;
  let b: GatewayProcess;
  const clients: Client[] = [];

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    const env = { DATABASE_URL: database.url, REDIS_URL, SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN, OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8' };
    // One after the other: the first one migrates the fresh database.
    a = await spawnGateway(env);
    b = await spawnGateway(env);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  function subscribe(url: string, channelId: string) {
    const client = createClient({ url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` }, retryAttempts: 0 });
    clients.push(client);
    const events: { id: string; message: string }[] = [];
    const errors: unknown[] = [];
    client.subscribe(
      { query: SUBSCRIPTION, variables: { channelId } },
      { next: (v) => (v.data ? events.push((v.data as { channelMessages: { id: string; message: string } }).channelMessages) : errors.push(v.errors)), error: (e) => errors.push(e), complete: () => {} },
    );
    return { events, errors };
  }

  const post = (url: string, channelId: string, message: string) =>
    fetch(`${url}/v1/webhooks/${channelId}?message=${encodeURIComponent(message)}`).then(async (r) => {
      if (r.status !== 202) throw new Error(`${r.status} ${await r.text()}`);
      return ((await r.json()) as { data: { id: string } }).data.id;
    });

  it('a message posted to one gateway reaches subscribers connected to the other', async () => {
    const api = remoteGateway(a.url);
    const orgId = await createOrg(api, 'Fan-out');
    const channel = await createChannel(api, orgId, 'everywhere');
    const onB = subscribe(b.url, channel.id);
    const onA = subscribe(a.url, channel.id);
    // Wait until both subscriptions are live: keep posting a probe until each side has seen one.
    const probes: string[] = [];
    await until(() => {
      if (onA.events.length && onB.events.length) return true;
      void post(a.url, channel.id, 'probe').then((id) => probes.push(id));
      return false;
    });
    await new Promise((r) => setTimeout(r, 200));
    const seenA = onA.events.length;
    const seenB = onB.events.length;

    const fromA = await post(a.url, channel.id, 'posted to A');
    const fromB = await post(b.url, channel.id, 'posted to B');
    // Probes still in flight may arrive after the snapshot (the machine may be slow): wait for the two
    // messages themselves, then check each side got each once.
    const both = (events: { id: string }[]) => events.some((e) => e.id === fromA) && events.some((e) => e.id === fromB);
    await until(() => both(onA.events) && both(onB.events), 60_000, 'both messages on both sides');
    for (const side of [onA.events.slice(seenA), onB.events.slice(seenB)]) {
      expect(side.filter((e) => e.message !== 'probe')).toEqual([{ id: fromA, message: 'posted to A' }, { id: fromB, message: 'posted to B' }]);
      expect(new Set(side.map((e) => e.id)).size).toBe(side.length);
    }
    expect(onA.errors).toEqual([]);
    expect(onB.errors).toEqual([]);
  }, 60_000);
});
