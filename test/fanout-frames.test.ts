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
import { until } from './support/wait.js';

/** A raw graphql-transport-ws socket, acknowledged, recording every text frame it receives. */
async function rawSocket(t: TestApp, token: string) {
  const ws = new WebSocket(`${t.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
  const frames: string[] = [];
  const socket = { frames, dropProbes: false, subscribed: new Set<string>(), seen: new Set<string>() };
  ws.on('message', (data, isBinary) => {
    // graphql-ws speaks in text frames: a binary one is recorded marked, so that no comparison passes it.
    const frame = isBinary ? `(binary) ${data.toString()}` : data.toString();
    const parsed = (isBinary ? {} : JSON.parse(frame)) as { id?: string; type?: string };
    if (parsed.type === 'next' && parsed.id !== undefined) socket.seen.add(parsed.id);
    if (!(socket.dropProbes && frame.includes('"message":"probe"'))) frames.push(frame);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await until(() => frames.length > 0);
  expect(JSON.parse(frames.shift()!)).toEqual({ type: 'connection_ack' });
  return Object.assign(socket, {
    send: (message: { id?: string; type: string; payload?: unknown }) => {
      if (message.type === 'subscribe' && message.id !== undefined) socket.subscribed.add(message.id);
      ws.send(JSON.stringify(message));
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === ws.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
      }),
  });
}

/**
 * Subscriptions start asynchronously (authentication, listener): post probes until each subscription of
 * each socket has received one, then forget the frames received so far (late probes are dropped too).
 */
async function whenLive(sockets: Awaited<ReturnType<typeof rawSocket>>[], post: (message: string) => Promise<string>) {
  const start = Date.now();
  while (!sockets.every((s) => [...s.subscribed].every((id) => s.seen.has(id)))) {
    if (Date.now() - start > 10_000) throw new Error('subscriptions did not become live');
    await post('probe');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 100));
  for (const s of sockets) {
    s.frames.length = 0;
    s.dropProbes = true;
  }
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
        await whenLive([a, b], (m) => post(channel.id, m));

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

    it('delivers messages committed together as whole frames, in order, to every subscriber', async () => {
      const channel = await createChannel(t, orgId, 'together');
      const query = 'subscription($c: ID!) { channelMessages(channelId: $c) { id message } }';
      const sockets = await Promise.all([rawSocket(t, t.token), rawSocket(t, t.token), rawSocket(t, t.token)]);
      try {
        sockets.forEach((s, i) => s.send({ id: `s${i}`, type: 'subscribe', payload: { query, variables: { c: channel.id } } }));
        await whenLive(sockets, (m) => post(channel.id, m));
        // Posted at once, so several share a commit and are published in one tick.
        const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => post(channel.id, `m${i}`)));
        await until(() => sockets.every((s) => s.frames.length >= ids.length));
        await new Promise((r) => setTimeout(r, 200));
        for (const [i, s] of sockets.entries()) {
          const got = s.frames.map((f) => JSON.parse(f) as { id: string; type: string; payload: { data: { channelMessages: { id: string; message: string } } } });
          expect(got.every((g) => g.id === `s${i}` && g.type === 'next')).toBe(true);
          const messageIds = got.map((g) => g.payload.data.channelMessages.id);
          expect(messageIds).toEqual([...ids].sort());
        }
      } finally {
        await Promise.all(sockets.map((s) => s.close()));
      }
    });

    it('frames payloads of every WebSocket length form (7-bit, 16-bit, 64-bit) byte for byte', async () => {
      const channel = await createChannel(t, orgId, 'sizes');
      const query = 'subscription($c: ID!) { channelMessages(channelId: $c) { message } }';
      const socket = await rawSocket(t, t.token);
      const postJson = async (message: string) => {
        const r = await fetch(`${t.url}/v1/webhooks/${channel.id}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ message, event_name: 'e', status: 'success', username: 'u' }),
        });
        expect(r.status).toBe(202);
      };
      try {
        socket.send({ id: 'z', type: 'subscribe', payload: { query, variables: { c: channel.id } } });
        await whenLive([socket], (m) => postJson(m).then(() => ''));
        // Frame payloads of 71 + the message's bytes: 125 and 126 bytes (the 7-bit form's last length and the
        // 16-bit form's first), 65,535 and 65,536 (the 16-bit form's last and the 64-bit form's first), and
        // more, in two-byte characters.
        const head = JSON.stringify({ id: 'z', type: 'next', payload: { data: { channelMessages: { message: '' } } } }).length;
        const texts = [125 - head, 126 - head, 65_535 - head, 65_536 - head].map((n) => 'a'.repeat(n));
        texts.push('é'.repeat(40_000));
        for (const text of texts) await postJson(text);
        await until(() => socket.frames.length >= texts.length);
        expect(socket.frames).toEqual(texts.map((message) => JSON.stringify({ id: 'z', type: 'next', payload: { data: { channelMessages: { message } } } })));
        expect(socket.frames.slice(0, 4).map((f) => Buffer.byteLength(f))).toEqual([125, 126, 65_535, 65_536]);
      } finally {
        await socket.close();
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
        await whenLive([mine], (m) => post(channel.id, m));
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
