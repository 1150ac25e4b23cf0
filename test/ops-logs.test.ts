import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, redactUrl, REDACT_PATHS } from '../src/infra/logger.js';
import { json, startServer, type LocalServer } from './support/http-server.js';
import { LogCapture, startOpsApp, type OpsApp } from './support/ops.js';
import { createUser } from './support/seed.js';

describe('structured logs: secrets are redacted', () => {
  let t: OpsApp;
  let upstream: LocalServer;
  beforeAll(async () => {
    // trace: the most the gateway ever logs.
    t = await startOpsApp('sqlite', { level: 'trace' });
    upstream = await startServer((_req, res) => json(res, 500, { error: 'boom' }));
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  it('never writes a token sent in a request, wherever it was sent', async () => {
    const { token } = await createUser(t, 'loggy');
    const secret = 'xoxb-slack-bot-token-0123456789';
    const credential = 'integration-credential-s3cr3t';

    // Authorization header, on GraphQL and REST doors.
    expect((await t.gqlRaw('{ viewer { id } }', undefined, token)).errors).toBeUndefined();
    await fetch(`${t.url}/v1/webhooks/00000000-0000-4000-8000-000000000000`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    // Rocket.Chat's header, a token in the query string and one in a token-bearing path.
    await fetch(`${t.url}/nowhere?token=${token}&access_token=${secret}&code=${credential}&page=2`, { headers: { 'x-auth-token': token } });
    await fetch(`${t.url}/hooks/some-integration/${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hi' }) });
    // Secrets in a body and in GraphQL variables.
    await fetch(`${t.url}/v1/webhooks/00000000-0000-4000-8000-000000000000`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, auth_credential: credential, access_token: secret, message: 'x' }),
    });
    await t.gqlRaw('query($t: String) { viewer { id } }', { t: token }, token);
    await t.gqlRaw('mutation { nope }', undefined, token);
    // A WebSocket connection authenticated with connectionParams.
    const client = createClient({ url: `${t.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    await new Promise<void>((resolve, reject) => {
      client.subscribe({ query: '{ viewer { id } }' }, { next: () => undefined, error: reject, complete: resolve });
    });
    await client.dispose();

    // Outbound errors carry the request options (headers included) into the log.
    t.app.deps.logger.warn({ delivery: { url: upstream.url, headers: { authorization: `Bearer ${secret}` }, body: { auth_credential: credential } } }, 'retrying');
    try {
      await t.app.deps.http.got.post(upstream.url, { headers: { authorization: `Bearer ${secret}` }, json: { auth_credential: credential }, throwHttpErrors: true });
    } catch (error) {
      t.app.deps.logger.error({ err: error }, 'outbound call failed');
    }

    await new Promise((r) => setTimeout(r, 50));
    expect(t.logs.lines.length).toBeGreaterThan(10);
    for (const value of [token, t.token, secret, credential]) {
      expect(t.logs.text, 'a secret reached the log').not.toContain(value);
    }
    // What was logged is still useful: the URLs with the secrets replaced.
    const urls = t.logs.lines.map((l) => (l.req as { url?: string } | undefined)?.url).filter(Boolean);
    expect(urls).toContain('/nowhere?token=[redacted]&access_token=[redacted]&code=[redacted]&page=2');
    expect(urls).toContain('/hooks/some-integration/[redacted]');
  });

  it('carries the request id into every line written for that request, services included', async () => {
    await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.token}`, 'x-request-id': 'req-logs-1' },
      body: JSON.stringify({ query: '{ viewer { id } }' }),
    });
    const mine = t.logs.lines.filter((l) => l.reqId === 'req-logs-1');
    expect(mine.map((l) => l.msg)).toEqual(expect.arrayContaining(['incoming request', 'request completed']));
    // Lines from the GraphQL layer (not Fastify's per-request logger) carry it too, exactly once.
    const graphqlLines = mine.filter((l) => l.component === 'graphql');
    expect(graphqlLines.length).toBeGreaterThan(0);
    const raw = t.logs.text.split('\n').filter((line) => line.includes('req-logs-1'));
    for (const line of raw) expect(line.match(/"reqId"/g)).toHaveLength(1);
  });
});

describe('redaction rules', () => {
  it('covers secret fields at any of the first four levels, headers and Slack tokens', () => {
    const out = new LogCapture();
    const log = createLogger({ level: 'info', pretty: false, destination: out });
    log.info({ token: 'T1', integration: { auth_credential: 'T2', app_name: 'kept' } }, 'a');
    log.info({ installation: { team: { access_token: 'T3', bot_token: 'T4' } } }, 'b');
    log.info({ req: { headers: { authorization: 'Bearer T5', 'x-auth-token': 'T6', cookie: 'T7' } } }, 'c');
    log.info({ config: { secretKey: 'T8', adminToken: 'T9', slack: { clientSecret: 'T10' } } }, 'd');
    log.info({ body: { password: 'T11', client_secret: 'T12', refresh_token: 'T13' } }, 'e');
    log.child({ component: 'x' }).info({ connectionParams: { authorization: 'Bearer T14' } }, 'f');
    for (let i = 1; i <= 14; i++) expect(out.text).not.toMatch(new RegExp(`"[^"]*\\bT${i}\\b`));
    expect(out.lines[0]).toMatchObject({ token: '[redacted]', integration: { auth_credential: '[redacted]', app_name: 'kept' } });
    expect(REDACT_PATHS.length).toBeGreaterThan(50);
  });

  it('redacts secret query values and token path segments, keeping the rest', () => {
    expect(redactUrl('/v1/webhooks/abc?message=hi')).toBe('/v1/webhooks/abc?message=hi');
    expect(redactUrl('/slack/callback?code=abc&state=xyz')).toBe('/slack/callback?code=[redacted]&state=xyz');
    expect(redactUrl('/x?Token=1&API_KEY=2&flag')).toBe('/x?Token=[redacted]&API_KEY=[redacted]&flag');
    expect(redactUrl('/hooks/id1/tok3n')).toBe('/hooks/id1/[redacted]');
    expect(redactUrl('/hooks/id1/tok3n?x=1')).toBe('/hooks/id1/[redacted]?x=1');
    expect(redactUrl('/x?%74oken=1')).toBe('/x?%74oken=[redacted]');
  });

  it('falls back to JSON when asked for pretty output with a destination', () => {
    const out = new LogCapture();
    createLogger({ level: 'info', pretty: true, destination: out }).info('plain');
    expect(out.lines[0]).toMatchObject({ msg: 'plain', level: 30 });
  });
});
