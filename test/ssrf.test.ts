/**
 * The SSRF guard (src/infra/address-guard.ts, src/infra/http.ts) through a real door: addIntegration fetches the
 * spec at `jsonUrl`. Every hostile spelling of a local address is refused before a connection is made (a
 * listener on every local address counts connections), and OUTBOUND_ALLOW_PRIVATE entries with a port open
 * that port only.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { documentedModifier } from './fixtures/specs.js';
import { startTestApp, type TestApp } from './support/app.js';
import { createOrg } from './support/seed.js';

interface Listener {
  port: number;
  connections: number;
  close(): Promise<void>;
}

/** A spec server on every local address (IPv6 `::`, dual stack), counting the connections it accepts. */
async function listen(): Promise<Listener> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(documentedModifier('https://example.com/hook')));
  });
  const state = { port: 0, connections: 0 };
  server.on('connection', (socket) => {
    state.connections++;
    sockets.add(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '::', resolve));
  state.port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}

const ADD = `mutation ($organisationId: ID!, $jsonUrl: String!) {
  addIntegration(input: { organisationId: $organisationId, jsonUrl: $jsonUrl }) {
    __typename ... on MutationAddIntegrationSuccess { data { id } } ... on ValidationError { field message } ... on Error { message }
  }
}`;

async function add(t: TestApp, organisationId: string, jsonUrl: string) {
  const r = await t.gqlRaw(ADD, { organisationId, jsonUrl });
  return (r.data as { addIntegration: { __typename: string; message?: string; field?: string } }).addIntegration;
}

/** Local, private and link-local addresses in every spelling; `P` is the listener's port. */
const HOSTILE = [
  'http://127.0.0.1:P/',
  'http://127.1:P/',
  'http://2130706433:P/',
  'http://0x7f000001:P/',
  'http://0177.0.0.1:P/',
  'http://localhost:P/',
  'http://0.0.0.0:P/',
  'http://[::]:P/',
  'http://[::1]:P/',
  'http://[0:0:0:0:0:0:0:1]:P/',
  'http://[::127.0.0.1]:P/',
  'http://[::7f00:1]:P/',
  'http://[::ffff:127.0.0.1]:P/',
  'http://[::ffff:7f00:1]:P/',
  'http://[0:0:0:0:0:ffff:127.0.0.1]:P/',
  'http://[::ffff:0:127.0.0.1]:P/',
  'http://[::ffff:10.0.0.1]:P/',
  'http://[::ffff:169.254.169.254]:P/',
  'http://[64:ff9b::127.0.0.1]:P/',
  'http://[64:ff9b::10.1.2.3]:P/',
  'http://[64:ff9b:1::1]:P/',
  'http://[2002:7f00:1::1]:P/',
  'http://[2002:c0a8:101::1]:P/',
  'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:P/',
  'http://[fc00::1]:P/',
  'http://[fd00::2]:P/',
  'http://[fe80::1]:P/',
  'http://[fec0::1]:P/',
  'http://[ff02::1]:P/',
  'http://[2001:db8::1]:P/',
  'http://10.0.0.1:P/',
  'http://172.16.0.1:P/',
  'http://192.168.1.1:P/',
  'http://100.64.0.1:P/',
  'http://169.254.169.254:P/',
  'http://224.0.0.1:P/',
];

describe('SSRF guard without OUTBOUND_ALLOW_PRIVATE', () => {
  let t: TestApp;
  let listener: Listener;
  let orgId: string;
  beforeAll(async () => {
    listener = await listen();
    t = await startTestApp('sqlite', { OUTBOUND_ALLOW_PRIVATE: 'false' });
    orgId = await createOrg(t, 'Guarded');
  });
  afterAll(async () => {
    await t.close();
    await listener.close();
  });

  it.each(HOSTILE)('refuses %s without connecting', async (template) => {
    const url = template.replace('P', String(listener.port));
    const before = listener.connections;
    const r = await add(t, orgId, url);
    expect(r).toMatchObject({ __typename: 'ValidationError', field: 'jsonUrl' });
    expect(r.message).toMatch(/private, loopback or link-local/);
    expect(listener.connections).toBe(before);
  });
});

describe('OUTBOUND_ALLOW_PRIVATE entries with and without a port', () => {
  let open: Listener;
  let closed: Listener;
  let t: TestApp;
  let orgId: string;
  beforeAll(async () => {
    open = await listen();
    closed = await listen();
    t = await startTestApp('sqlite', { OUTBOUND_ALLOW_PRIVATE: `127.0.0.1:${open.port},[::1]:${open.port}` });
    orgId = await createOrg(t, 'Ports');
  });
  afterAll(async () => {
    await t.close();
    await open.close();
    await closed.close();
  });

  it('reaches the named port on the named addresses', async () => {
    for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', 'localhost']) {
      expect((await add(t, orgId, `http://${host}:${open.port}/spec.json`)).__typename).toBe('MutationAddIntegrationSuccess');
    }
    expect(open.connections).toBeGreaterThanOrEqual(1);
  });

  it('refuses another port of the same addresses without connecting', async () => {
    for (const host of ['127.0.0.1', '[::1]', 'localhost']) {
      const r = await add(t, orgId, `http://${host}:${closed.port}/spec.json`);
      expect(r).toMatchObject({ __typename: 'ValidationError', field: 'jsonUrl' });
    }
    expect(closed.connections).toBe(0);
  });

  it('refuses other loopback addresses on the named port', async () => {
    const before = open.connections;
    for (const host of ['127.0.0.2', '[::127.0.0.1]', '[::ffff:127.0.0.2]']) {
      const r = await add(t, orgId, `http://${host}:${open.port}/spec.json`);
      expect(r).toMatchObject({ __typename: 'ValidationError', field: 'jsonUrl' });
    }
    expect(open.connections).toBe(before);
  });
});

describe('OUTBOUND_ALLOW_PRIVATE entries without a port (the test default 127.0.0.0/8,::1)', () => {
  let a: Listener;
  let b: Listener;
  let t: TestApp;
  let orgId: string;
  beforeAll(async () => {
    a = await listen();
    b = await listen();
    t = await startTestApp('sqlite');
    orgId = await createOrg(t, 'Ranges');
  });
  afterAll(async () => {
    await t.close();
    await a.close();
    await b.close();
  });

  it('opens every port of the range, and nothing outside it', async () => {
    for (const url of [`http://127.0.0.1:${a.port}/`, `http://127.0.0.2:${b.port}/`, `http://[::1]:${b.port}/`]) {
      expect((await add(t, orgId, url)).__typename).toBe('MutationAddIntegrationSuccess');
    }
    const before = a.connections + b.connections;
    for (const url of [`http://[::127.0.0.1]:${a.port}/`, `http://0.0.0.0:${a.port}/`, `http://[::]:${b.port}/`]) {
      expect((await add(t, orgId, url)).__typename).toBe('ValidationError');
    }
    expect(a.connections + b.connections).toBe(before);
  });
});

describe('OUTBOUND_ALLOW_PRIVATE parsing', () => {
  it.each(['127.0.0.1:8080', '[::1]:8080', '10.0.0.0/8:443', '[fd00::/8]:443', '::1', '127.0.0.0/8', 'true', 'false'])('accepts %s', (value) => {
    expect(() => loadConfig({ OUTBOUND_ALLOW_PRIVATE: value, SWITCHBOARD_SECRET_KEY: Buffer.alloc(32).toString('base64') })).not.toThrow();
  });
  it.each(['localhost', '127.0.0.1:99999', '10.0.0.0/33', '::1:8080:x', '[::1]8080'])('refuses %s naming it', (value) => {
    expect(() => loadConfig({ OUTBOUND_ALLOW_PRIVATE: value, SWITCHBOARD_SECRET_KEY: Buffer.alloc(32).toString('base64') })).toThrow(/OUTBOUND_ALLOW_PRIVATE/);
  });
});
