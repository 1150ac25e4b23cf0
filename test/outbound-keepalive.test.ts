/**
 * Kept-alive sockets of the outbound client (src/infra/http.ts) against a real Node server, whose default
 * keep-alive is 5 s, announced as `Keep-Alive: timeout=5`: a call made as the server closes an idle socket must
 * not land on it.
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createHttpClient } from '../src/infra/http.js';

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
