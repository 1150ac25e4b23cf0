/**
 * Backpressure (README "Security", src/infra/backpressure.ts): a subscriber that stops reading is closed once
 * its waiting bytes pass SUBSCRIBER_MAX_BUFFERED_BYTES (graphql-ws: 1013 with a reason, then cut if it still
 * reads nothing; SSE: cut once it has accepted nothing for SUBSCRIBER_STALL_TIMEOUT_MS), counted in /metrics,
 * and the gateway's memory stays bounded however much is posted meanwhile; connections that never finish their
 * request headers or body are answered 408 and closed, while long-lived streams are not cut.
 */
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { spawnGateway, type GatewayProcess } from '../bench/spawn.js';
import { ADMIN_TOKEN, remoteGateway, startTestApp, type TestApp } from './support/app.js';
import { scrape } from './support/ops.js';
import { createChannel, createOrg } from './support/seed.js';
import { freshDatabase } from './support/services.js';
import { sleep, until } from './support/wait.js';

const SUBSCRIPTION = 'subscription($channelId: ID!) { channelMessages(channelId: $channelId) { id message } }';
const MiB = 1024 * 1024;

const post = async (url: string, channelId: string, message: string) => {
  const res = await fetch(`${url}/v1/webhooks/${channelId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ event_name: 'flood', message, status: 'success', username: 'flood' }),
  });
  if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
};

/** A graphql-ws subscriber on a raw `ws` socket, live once its first message (a probe) arrives. */
async function subscriber(url: string, channelId: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
  let received = 0;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('error', () => undefined);
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as { type: string };
    if (m.type === 'connection_ack') ws.send(JSON.stringify({ id: 's', type: 'subscribe', payload: { query: SUBSCRIPTION, variables: { channelId } } }));
    if (m.type === 'next') received++;
  });
  ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}` } })));
  return { ws, closed, received: () => received };
}

const resident = async (url: string) => (await scrape(url))('process_resident_memory_bytes');

describe('subscribers that stop reading', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let gateway: GatewayProcess;
  let url: string;
  let channelId: string;

  beforeAll(async () => {
    database = await freshDatabase('sqlite');
    gateway = await spawnGateway({
      DATABASE_URL: database.url,
      SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
      SWITCHBOARD_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'sb-bp-')),
      SUBSCRIBER_MAX_BUFFERED_BYTES: String(MiB),
      SUBSCRIBER_STALL_TIMEOUT_MS: '4000',
      // A deliberate flood from one address into one channel.
      RATE_LIMIT_ADDRESS: 'off',
      RATE_LIMIT_CHANNEL: 'off',
      RATE_LIMIT_CHANNEL_BYTES: 'off',
    });
    url = gateway.url;
    const api = remoteGateway(url);
    channelId = (await createChannel(api, await createOrg(api, 'Backpressure'), 'flood')).id;
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await database?.drop();
  });

  /** Post `count` messages of `size` characters, eight at a time, until `stop` says so. */
  async function flood(count: number, size: number, stop: () => Promise<boolean> = async () => false) {
    const text = 'x'.repeat(size);
    let sent = 0;
    while (sent < count) {
      await Promise.all(Array.from({ length: 8 }, () => post(url, channelId, text)));
      sent += 8;
      if (sent % 64 === 0 && (await stop())) break;
    }
    return sent;
  }

  it('graphql-ws: closed with 1013 and a reason past the bound, cut if it never reads again; memory stays bounded', async () => {
    // The gateway's warnings, as it writes them on stdout.
    const warnings: Record<string, unknown>[] = [];
    gateway.child.stdout!.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.includes('subscriber stopped reading')) warnings.push(JSON.parse(line));
    });
    // The heap grows to its working size on a first flood, with nobody subscribed.
    await flood(200, 60_000);

    const reader = await subscriber(url, channelId);
    const sleeper = await subscriber(url, channelId);
    await until(async () => {
      await post(url, channelId, 'probe');
      return reader.received() > 0 && sleeper.received() > 0;
    });
    const before = await resident(url);

    // Both stop reading: the gateway's writes pile up behind them until each passes the bound.
    reader.ws.pause();
    sleeper.ws.pause();
    const closedCount = async () => (await scrape(url))('switchboard_slow_subscribers_closed_total', { transport: 'websocket', reason: 'buffered' });
    const sent = await flood(800, 60_000, async () => (await closedCount()) === 2);
    expect(await closedCount()).toBe(2);

    // The reader resumes in time: it reads what was buffered, then the close frame with its reason.
    reader.ws.resume();
    expect(await reader.closed).toEqual({ code: 1013, reason: `Subscriber too slow: over ${MiB} bytes waiting` });

    // More is posted after the close, and none of it is buffered for them: each held at most the bound and a
    // frame, and the gateway's memory barely moved (with no bound, both would hold every message: 2 × 60 KB
    // per post, over 60 MiB here).
    await flood(400, 60_000);
    const grown = (await resident(url)) - before;
    expect(2 * (sent + 400) * 60_000).toBeGreaterThan(60 * MiB);
    expect(grown, `RSS grew ${Math.round(grown / MiB)} MiB`).toBeLessThan(40 * MiB);
    expect(warnings).toHaveLength(2);
    for (const w of warnings) {
      expect(w).toMatchObject({ limit: MiB });
      expect(w.bufferedBytes as number).toBeGreaterThan(MiB);
      expect(w.bufferedBytes as number).toBeLessThan(MiB + 2 * 61_000);
    }

    // The one that never reads again is cut once the stall timeout passes.
    await until(async () => (await scrape(url))('switchboard_websocket_connections') === 0, 15_000, 'the silent subscriber to be cut');
    sleeper.ws.terminate();
  }, 120_000);

  it('SSE: a stream that accepts nothing for the stall timeout is cut, counted in /metrics', async () => {
    const body = JSON.stringify({ query: SUBSCRIPTION, variables: { channelId } });
    const target = new URL(`${url}/graphql`);
    let received = 0;
    let ended = false;
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(
        { host: target.hostname, port: target.port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${ADMIN_TOKEN}` } },
        resolve,
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(response.statusCode).toBe(200);
    response.on('data', (chunk: Buffer) => (received += chunk.toString().split('event: next').length - 1));
    response.on('error', () => (ended = true));
    response.on('close', () => (ended = true));
    await until(async () => {
      await post(url, channelId, 'probe');
      return received > 0;
    });
    response.pause();

    const cut = async () => (await scrape(url))('switchboard_slow_subscribers_closed_total', { transport: 'sse' });
    await flood(800, 60_000, async () => (await cut()) === 1);
    await until(async () => (await cut()) === 1, 15_000, 'the SSE stream to be cut');
    response.resume();
    await until(() => ended, 10_000, 'the client to see its stream end');
  }, 120_000);
});

describe('clients that never finish their request', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('sqlite', { HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000' });
  });
  afterAll(() => t.close());

  /** A raw TCP connection: what it received, and when the server closed it. */
  function rawConnection(first: string) {
    const port = Number(new URL(t.url).port);
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const opened = Date.now();
    const closed = new Promise<{ afterMs: number; text: string }>((resolve) => socket.once('close', () => resolve({ afterMs: Date.now() - opened, text })));
    socket.on('data', (d) => (text += d.toString()));
    socket.on('error', () => undefined);
    if (first) socket.write(first);
    return { socket, closed };
  }

  it('answers 408 and closes connections whose headers or body never arrive, while serving others; long-lived streams stay', async () => {
    const orgId = await createOrg(t, 'Slow');
    const channel = await createChannel(t, orgId, 'slow');
    const before = (await scrape(t.url))('switchboard_http_timeouts_total');

    const partialHeaders = Array.from({ length: 100 }, () => rawConnection('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: '));
    const partialBodies = Array.from({ length: 100 }, () =>
      rawConnection(`POST /v1/webhooks/${channel.id} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"message": "`),
    );
    const silent = Array.from({ length: 20 }, () => rawConnection(''));
    // Slowloris proper: a header byte every 200 ms, never the end of the headers.
    const dribble = rawConnection('GET /healthz HTTP/1.1\r\n');
    const drip = setInterval(() => dribble.socket.write('X'), 200);

    try {
      // A long-lived SSE stream (its request is complete) outlives both timeouts.
      const controller = new AbortController();
      const stream = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${t.token}` },
        body: JSON.stringify({ query: SUBSCRIPTION, variables: { channelId: channel.id } }),
        signal: controller.signal,
      });
      const reader = stream.body!.getReader();
      let streamed = '';
      void (async () => {
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            streamed += new TextDecoder().decode(value);
          }
        } catch {
          // aborted
        }
      })();

      // The gateway answers others meanwhile.
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);

      const results = await Promise.all([...partialHeaders, ...partialBodies, ...silent, dribble].map((c) => c.closed));
      for (const r of results) {
        expect(r.afterMs).toBeLessThan(15_000);
        if (r.text) expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
      }
      expect(results.slice(0, 200).every((r) => r.text.startsWith('HTTP/1.1 408'))).toBe(true);
      const headerCut = results.slice(0, 100).map((r) => r.afterMs);
      const bodyCut = results.slice(100, 200).map((r) => r.afterMs);
      expect(Math.min(...headerCut)).toBeGreaterThanOrEqual(900);
      expect(Math.min(...bodyCut)).toBeGreaterThanOrEqual(1_900);

      await sleep(500);
      await fetch(`${t.url}/v1/webhooks/${channel.id}?message=${encodeURIComponent('still streaming')}`);
      await until(() => streamed.includes('still streaming'), 5_000, 'the stream to carry a message after the timeouts');
      controller.abort();

      expect((await scrape(t.url))('switchboard_http_timeouts_total') - before).toBeGreaterThanOrEqual(200);
    } finally {
      clearInterval(drip);
      for (const c of [...partialHeaders, ...partialBodies, ...silent, dribble]) c.socket.destroy();
    }
  }, 30_000);
});
