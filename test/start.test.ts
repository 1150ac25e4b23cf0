/**
 * `npm start` runs the gateway from its bundle (dist/main.cjs, built by scripts/build.mjs when stale, compiled with its code cache), not
 * from the TypeScript sources the other tests import: this runs that command's program on the embedded
 * default and goes through the parts the bundle leaves to Node at run time or loads late (GraphiQL's page,
 * Swagger UI's files, response serialisers compiled at first use, the first start's admin token, the sender thread).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentedModifier } from './fixtures/specs.js';
import { remoteGateway } from './support/app.js';
import { json, startServer, type LocalServer } from './support/http-server.js';
import { createChannel, createOrg } from './support/seed.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Started {
  child: ChildProcess;
  url: string;
  token: string;
  exited: Promise<number | null>;
}

/** `npm start`'s program on `dataDir`, once it says where it listens (and, on a first start, the admin's token). */
async function startGateway(dataDir: string): Promise<Started> {
  const child = spawn(process.execPath, ['--no-node-snapshot', path.join(root, 'scripts/start.mjs')], {
    cwd: root,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      PORT: '0',
      HOST: '127.0.0.1',
      SWITCHBOARD_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      SWITCHBOARD_ADMIN_TOKEN: '',
      // The modifier below answers on loopback.
      OUTBOUND_ALLOW_PRIVATE: '127.0.0.1',
      MODIFIER_BUDGET_MS: '10000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  let token = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`npm start's program exited with ${code}: ${stderr}`)));
    let nextIsToken = false;
    lines.on('line', (line) => {
      if (nextIsToken && line.trim()) {
        token = line.trim();
        nextIsToken = false;
      }
      if (line.includes('access token')) nextIsToken = true;
      const listening = /listening on (http:\/\/\S+)/.exec(line);
      if (listening) resolve(listening[1].replace('localhost', '127.0.0.1'));
    });
  });
  return { child, url, token, exited };
}

/** The code caches beside the bundle (scripts/start.mjs). */
const codeCaches = () => readdirSync(path.join(root, 'dist')).filter((name) => /^main\.[0-9a-f]{16}\.cache$/.test(name));

describe('npm start (the bundled gateway on its embedded default)', () => {
  let child: ChildProcess;
  let dataDir: string;
  let url: string;
  let token: string;
  let exited: Promise<number | null>;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'sb-start-'));
    // Builds the bundle if it is stale; its code cache is removed so that this run is the one that writes it.
    execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--if-stale'], { cwd: root, env: { ...process.env, NODE_OPTIONS: '' } });
    for (const name of codeCaches()) rmSync(path.join(root, 'dist', name));
    ({ child, url, token, exited } = await startGateway(dataDir));
  }, 180_000);

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates the first admin, prints its token once, and answers GraphQL with it', async () => {
    expect(token).toMatch(/\S{24,}/);
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ viewer { name } }' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { viewer: { name: 'admin' } } });
  });

  it('serves GraphiQL, whose page is imported at the first request', async () => {
    const res = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('<title>Switchboard</title>');
  });

  it('serves the OpenAPI document and Swagger UI from its own package files', async () => {
    const doc = await fetch(`${url}/docs/json`);
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as { info: { title: string } }).info.title).toBe('Switchboard REST API');
    const ui = await fetch(`${url}/docs/static/index.html`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger-ui');
  });

  it("answers REST failures in Telex's envelope through the response schema serialiser", async () => {
    const res = await fetch(`${url}/organisations/nothing/integrations`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ status: 'error', status_code: 401 });
  });

  it('makes the calls of a modifier on its sender thread, bundled beside it (dist/send-thread.cjs), signed', async () => {
    expect(readdirSync(path.join(root, 'dist'))).toContain('send-thread.cjs');
    const modifier: LocalServer = await startServer((req, res) =>
      req.url === '/spec' ? json(res, 200, documentedModifier(`${modifier.url}/modify`)) : json(res, 200, { message: `${(req.json as { message: string }).message}, modified` }),
    );
    try {
      const t = remoteGateway(url);
      const organisationId = await createOrg(t, 'Bundled', token);
      const channel = await createChannel(t, organisationId, 'general', token);
      const added = await t.gqlData<{ addIntegration: { data: { id: string; signingSecret: string } } }>(
        `mutation ($organisationId: ID!, $jsonUrl: String!) { addIntegration(input: { organisationId: $organisationId, jsonUrl: $jsonUrl }) { ... on MutationAddIntegrationSuccess { data { id signingSecret } } } }`,
        { organisationId, jsonUrl: `${modifier.url}/spec` },
        token,
      );
      const integration = added.addIntegration.data;
      await t.gqlData(`mutation ($integrationId: ID!, $channelId: ID!) { enableIntegration(input: { integrationId: $integrationId, channelId: $channelId }) { __typename } }`, { integrationId: integration.id, channelId: channel.id }, token);
      const sent = await t.gqlData<{ sendMessage: { data: { message: string } } }>(
        `mutation ($channelId: ID!) { sendMessage(input: { channelId: $channelId, message: "hello" }) { ... on MutationSendMessageSuccess { data { message } } } }`,
        { channelId: channel.id },
        token,
      );
      expect(sent.sendMessage.data.message).toBe('hello, modified');
      const call = modifier.requests.find((r) => r.url === '/modify')!;
      expect(new Webhook(integration.signingSecret).verify(call.body, call.headers as Record<string, string>)).toMatchObject({ message: 'hello', channel_id: channel.id });
    } finally {
      await modifier.close();
    }
  });

  it('stops cleanly on SIGTERM, writing the code cache it did not find', async () => {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(codeCaches()).toHaveLength(1);
    expect(statSync(path.join(root, 'dist', codeCaches()[0])).size).toBeGreaterThan(1_000_000);
  });

  it('starts again from the code cache and answers with the same token', async () => {
    const again = await startGateway(dataDir);
    try {
      const res = await fetch(`${again.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ viewer { name } }' }),
      });
      expect(await res.json()).toEqual({ data: { viewer: { name: 'admin' } } });
    } finally {
      again.child.kill('SIGTERM');
      expect(await again.exited).toBe(0);
    }
  }, 60_000);
});
