/**
 * Kept-alive sockets of the outbound client (src/infra/http.ts) against a real Node server, whose default
 * keep-alive is 5 s, announced as `Keep-Alive: timeout=5`: a call made as the server closes an idle socket must
 * not land on it; and a call that does land on one as the server resets it is sent once more, on a new socket.
 */
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createHttpClient } from '../src/infra/http.js';
import { sendOnce } from '../src/modules/deliveries/sender.js';

it("closes an idle kept-alive socket a second before the server's announced keep-alive runs out", async () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = createHttpClient({ ...loadConfig().outbound, allowPrivate: ['127.0.0.1'] });
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/spec.json`;
    expect(await client.fetchJson(url, 1_000)).toEqual({ ok: true });
    const agent = (client.got.defaults.options.agent as { http: { freeSockets: Record<string, Socket[]> } }).http;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const idle = Object.values(agent.freeSockets).flat();
    expect(idle).toHaveLength(1);
    // Node 20's agent applies the hint only when it has a timeout of its own; without one this was 0 (never closed).
    expect(idle[0]!.timeout).toBe(4_000);
    expect(await client.fetchJson(url, 1_000)).toEqual({ ok: true });
  } finally {
    client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/**
 * A raw HTTP/1.1 server on loopback: `answer(connection, request)` decides, per request, whether to answer 200
 * (keeping the socket open) or to reset the socket without answering, as a server closing an idle kept-alive
 * socket does to a call written at that moment.
 */
async function resettingServer(answer: (connection: number, request: number) => 'ok' | 'reset', delayMs = (_connection: number, _request: number) => 0) {
  const seen = { connections: 0, requests: 0, bodies: [] as string[] };
  const server = createNetServer((socket) => {
    const connection = ++seen.connections;
    let request = 0;
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length:\s*(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        seen.bodies.push(buffered.slice(end + 4, end + 4 + length));
        buffered = buffered.slice(end + 4 + length);
        seen.requests++;
        request++;
        const act = answer(connection, request);
        setTimeout(() => {
          if (act === 'reset') return void socket.resetAndDestroy();
          socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: keep-alive\r\n\r\n{"ok":true}');
        }, delayMs(connection, request));
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, close: () => new Promise((resolve) => server.close(resolve)) };
}

it('sends a call once more on a new socket when the server resets the kept-alive socket it was written on', async () => {
  // The first connection answers its first call, then resets as the second call comes: a reused socket lost.
  const server = await resettingServer((connection, request) => (connection === 1 && request === 2 ? 'reset' : 'ok'));
  const client = createHttpClient({ ...loadConfig().outbound, allowPrivate: ['127.0.0.1'] });
  try {
    expect(await sendOnce({ http: client }, { url: server.url, body: { n: 1 } })).toMatchObject({ ok: true, statusCode: 200 });
    const second = await sendOnce({ http: client }, { url: server.url, body: { n: 2 } });
    expect(second).toMatchObject({ ok: true, statusCode: 200, error: null });
    // The lost call and its repeat on a second connection, same bytes.
    expect(server.seen).toMatchObject({ connections: 2, requests: 3 });
    expect(server.seen.bodies).toEqual(['{"n":1}', '{"n":2}', '{"n":2}']);
  } finally {
    client.close();
    await server.close();
  }
});

it('does not send again a call whose new socket was reset: that is the server refusing it', async () => {
  const server = await resettingServer(() => 'reset');
  const client = createHttpClient({ ...loadConfig().outbound, allowPrivate: ['127.0.0.1'] });
  try {
    const outcome = await sendOnce({ http: client }, { url: server.url, body: { n: 1 } });
    expect(outcome).toMatchObject({ ok: false, statusCode: null, failure: 'unreachable', error: 'the server could not be reached (ECONNRESET)' });
    expect(server.seen).toMatchObject({ connections: 1, requests: 1 });
  } finally {
    client.close();
    await server.close();
  }
});

it("gives the repeat only what is left of the call's timeout", async () => {
  // The kept-alive socket is reset 150 ms into a call of 200 ms; the new socket would answer 100 ms later.
  const server = await resettingServer(
    (connection, request) => (connection === 1 && request === 2 ? 'reset' : 'ok'),
    (connection, request) => (connection === 1 ? (request === 2 ? 150 : 0) : 100),
  );
  const client = createHttpClient({ ...loadConfig().outbound, allowPrivate: ['127.0.0.1'] });
  try {
    expect(await sendOnce({ http: client }, { url: server.url, body: { n: 1 } })).toMatchObject({ ok: true });
    const outcome = await sendOnce({ http: client }, { url: server.url, body: { n: 2 }, timeoutMs: 200 });
    expect(outcome).toMatchObject({ ok: false, failure: 'timeout' });
    expect(server.seen.connections).toBe(2);
  } finally {
    client.close();
    await server.close();
  }
});
