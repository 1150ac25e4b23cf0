/**
 * graphql-ws frames of shared subscription results, read off raw sockets: byte for byte what graphql-ws
 * itself would send (a `next` frame per subscription id, ids with characters that need escaping too),
 * nothing after a client completes a subscription, and authorisation still checked per subscription.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from './support/app.js';
import { createChannel, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';

async function until(check: () => boolean, timeoutMs = 10_000) {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw graphql-transport-ws socket, acknowledged, recording every text frame it receives. */
async function rawSocket(t: TestApp, token: string) {
  const ws = new WebSocket(`${t.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
  const frames: string[] = [];
  ws.on('message', (data) => frames.push(data.toString()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await until(() => frames.length > 0);
  expect(JSON.parse(frames.shift()!)).toEqual({ type: 'connection_ack' });
  return {
    frames,
    send: (message: object) => ws.send(JSON.stringify(message)),
    close: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === ws.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
      }),
  };
}

for (const db of databases) {
  describe(`graphql-ws frames of shared subscription results (${db})`, () => {
    let t: TestApp;
    let orgId: string;
    const post = (channelId: string, message: string) =>
      fetch(`${t.url}/v1/webhooks/${channelId}?message=${encodeURIComponent(message)}&event_name=e&status=success&username=u`).then(async (r) => {
        if (r.status !== 202) throw new Error(`${r.status} ${await r.text()}`);
        return ((await r.json()) as { data: { id: string } }).data.id;
      });

    beforeAll(async () => {
      t = await startTestApp(db);
      orgId = await createOrg(t, 'Frames');
    });
    afterAll(async () => {
      await t.close();
    });

    it('sends each subscriber the exact next frame graphql-ws would, and stops at complete', async () => {
      const channel = await createChannel(t, orgId, 'frames');
      const short = 'subscription($c: ID!) { channelMessages(channelId: $c) { id channelId message } }';
      const other = 'subscription($c: ID!) { channelMessages(channelId: $c) { message id } }';
      const a = await rawSocket(t, t.token);
      const b = await rawSocket(t, t.token);
      const oddId = 'odd "id" \\ é';
      try {
        a.send({ id: '1', type: 'subscribe', payload: { query: short, variables: { c: channel.id } } });
        a.send({ id: oddId, type: 'subscribe', payload: { query: short, variables: { c: channel.id } } });
        b.send({ id: 'x', type: 'subscribe', payload: { query: other, variables: { c: channel.id } } });
        // Live once a probe reaches all three subscriptions.
        const probe = await post(channel.id, 'probe');
        await until(() => a.frames.length >= 2 && b.frames.length >= 1);
        a.frames.length = 0;
        b.frames.length = 0;
        expect(probe).toBeTruthy();

        const text = 'quote " backslash \\ line\nbreak ü';
        const id = await post(channel.id, text);
        await until(() => a.frames.length >= 2 && b.frames.length >= 1);
        const full = { id, channelId: channel.id, message: text };
        expect(a.frames.sort()).toEqual(
          [
            JSON.stringify({ id: '1', type: 'next', payload: { data: { channelMessages: full } } }),
            JSON.stringify({ id: oddId, type: 'next', payload: { data: { channelMessages: full } } }),
          ].sort(),
        );
        expect(b.frames).toEqual([JSON.stringify({ id: 'x', type: 'next', payload: { data: { channelMessages: { message: text, id } } } })]);

        // The client completes subscription "1": the next message reaches the other two only.
        a.frames.length = 0;
        b.frames.length = 0;
        a.send({ id: '1', type: 'complete' });
        await new Promise((r) => setTimeout(r, 100));
        const after = await post(channel.id, 'after complete');
        await until(() => a.frames.length >= 1 && b.frames.length >= 1);
        await new Promise((r) => setTimeout(r, 200));
        expect(a.frames.map((f) => JSON.parse(f) as { id: string; payload: { data: { channelMessages: { id: string } } } })).toEqual([
          { id: oddId, type: 'next', payload: { data: { channelMessages: { id: after, channelId: channel.id, message: 'after complete' } } } },
        ]);
        expect(b.frames).toHaveLength(1);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('still refuses, per subscription, a channel the viewer may not read', async () => {
      const channel = await createChannel(t, orgId, 'private');
      const outsider = await createUser(t, 'frames-outsider');
      const query = 'subscription($c: ID!) { channelMessages(channelId: $c) { id message } }';
      const mine = await rawSocket(t, t.token);
      const theirs = await rawSocket(t, outsider.token);
      try {
        mine.send({ id: 'm', type: 'subscribe', payload: { query, variables: { c: channel.id } } });
        theirs.send({ id: 'o', type: 'subscribe', payload: { query, variables: { c: channel.id } } });
        // The refusal is the subscription's one result (errors, no data), then complete.
        await until(() => theirs.frames.length >= 2);
        const refused = JSON.parse(theirs.frames[0]) as { id: string; type: string; payload: { data?: unknown; errors: { extensions?: { code?: string } }[] } };
        expect(refused).toMatchObject({ id: 'o', type: 'next' });
        expect(refused.payload.errors[0].extensions?.code).toBe('NOT_FOUND');
        expect(JSON.parse(theirs.frames[1])).toEqual({ id: 'o', type: 'complete' });
        await new Promise((r) => setTimeout(r, 100));
        const id = await post(channel.id, 'members only');
        await until(() => mine.frames.length >= 1);
        await new Promise((r) => setTimeout(r, 200));
        expect(JSON.parse(mine.frames[0])).toEqual({ id: 'm', type: 'next', payload: { data: { channelMessages: { id, message: 'members only' } } } });
        expect(theirs.frames).toHaveLength(2);
      } finally {
        await Promise.all([mine.close(), theirs.close()]);
      }
    });
  });
}
