/**
 * Every bad byte gets a 4xx and a refused request changes nothing: NUL bytes, lone surrogates, wrong types,
 * deep nesting, sizes and wrong encodings or content types, generated for every door (the Telex REST routes
 * from /docs/json, webhooks and return URLs, Rocket.Chat's API and hooks, the custom-channel webhook, GraphQL
 * mutations with variables and literals) on every database. Each case asserts no 5xx; each bad-string or
 * over-deep case a 400 naming the field; and after every refusal the row count of every table is unchanged.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { createChannel, createOrg } from './support/seed.js';
import { databases } from './support/services.js';

/** Each door's cases (hundreds of requests, each checked against the stored rows) outlast the default 30 s on a loaded machine. */
const CASES_TIMEOUT_MS = 120_000;

const NUL = 'a\u0000b';
const SURROGATE = 'a\ud800b';
const deep = (n: number): unknown => {
  let v: unknown = 'x';
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
};
const DEEP_TEXT = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);

interface Case {
  door: string;
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Blob;
  /** The field a 400 must name; undefined: only "not a 5xx" is asserted. */
  field?: string;
}

/** Set `path` (dot-separated) in a copy of `base`. */
function withField(base: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(base);
  const keys = path.split('.');
  let at: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  at[keys[keys.length - 1]] = value;
  return copy;
}

/** The string leaves of a body, as dot paths. */
function stringPaths(v: unknown, prefix = ''): string[] {
  if (typeof v === 'string') return [prefix];
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => stringPaths(x, prefix ? `${prefix}.${k}` : k));
  return [];
}

const json = (headers: Record<string, string> = {}) => ({ 'content-type': 'application/json', ...headers });

/** The cases of one JSON-bodied operation: each string field with NUL and a lone surrogate, wrong types, depth, encodings. */
function bodyCases(door: string, method: string, path: string, headers: Record<string, string>, base: Record<string, unknown>): Case[] {
  const cases: Case[] = [];
  for (const field of stringPaths(base)) {
    for (const [label, bad] of [['NUL', NUL], ['lone surrogate', SURROGATE]] as const) {
      cases.push({ door, name: `${label} in ${field}`, method, path, headers: json(headers), body: JSON.stringify(withField(base, field, bad)), field });
    }
    for (const [label, bad] of [['number', 5], ['object', { x: 1 }], ['array', ['x']], ['null', null], ['100k string', 'x'.repeat(100_000)]] as const) {
      cases.push({ door, name: `${label} as ${field}`, method, path, headers: json(headers), body: JSON.stringify(withField(base, field, bad)) });
    }
  }
  const first = stringPaths(base)[0];
  if (first) cases.push({ door, name: `over-deep value in ${first}`, method, path, headers: json(headers), body: JSON.stringify(withField(base, first, deep(200))), field: first });
  cases.push({ door, name: 'NUL in a key', method, path, headers: json(headers), body: JSON.stringify({ ...base, ['k\u0000']: 1 }), field: 'body' });
  cases.push({ door, name: 'JSON nested 10,000 deep', method, path, headers: json(headers), body: DEEP_TEXT, field: 'a' });
  cases.push({ door, name: 'malformed JSON', method, path, headers: json(headers), body: '{"a": ' });
  cases.push({ door, name: 'invalid UTF-8', method, path, headers: json(headers), body: new Blob([new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])]) });
  cases.push({ door, name: 'a JSON array', method, path, headers: json(headers), body: '[1,2]' });
  cases.push({ door, name: 'text/plain', method, path, headers: { ...headers, 'content-type': 'text/plain' }, body: 'hello' });
  cases.push({ door, name: 'form-encoded NUL', method, path, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: 'text=a%00b', field: undefined });
  return cases;
}

function queryCases(door: string, method: string, path: string, headers: Record<string, string>, names: string[]): Case[] {
  const sep = path.includes('?') ? '&' : '?';
  return names.flatMap((name) => [
    { door, name: `NUL in query ${name}`, method, path: `${path}${sep}${name}=a%00b`, headers, field: name },
    { door, name: `invalid percent-encoding in query ${name}`, method, path: `${path}${sep}${name}=%ED%A0%80`, headers },
  ]);
}

function paramCases(door: string, method: string, template: string, params: Record<string, string>, headers: Record<string, string>, body?: string): Case[] {
  const fill = (over: Record<string, string>) => template.replace(/\{(\w+)\}|:(\w+)/g, (_m, a, b) => over[a ?? b] ?? params[a ?? b] ?? 'x');
  const names = [...template.matchAll(/\{(\w+)\}|:(\w+)/g)].map((m) => m[1] ?? m[2]);
  return names.flatMap((name) => [
    { door, name: `NUL in path ${name}`, method, path: fill({ [name]: 'a%00b' }), headers: body ? json(headers) : headers, body, field: name },
    { door, name: `invalid percent-encoding in path ${name}`, method, path: fill({ [name]: '%ED%A0%80' }), headers: body ? json(headers) : headers, body },
  ]);
}

for (const db of databases) {
  describe(`bad input on every door (${db})`, () => {
    let t: TestApp;
    const ids: Record<string, string> = {};
    let rc: Record<string, string> = {};
    let hookPath = '';
    let channelToken = '';

    beforeAll(async () => {
      t = await startTestApp(db);
      const orgId = await createOrg(t, 'Bad input');
      const channel = await createChannel(t, orgId, 'general');
      Object.assign(ids, { organisationId: orgId, organisation_id: orgId, org_id: orgId, channel_id: channel.id, channelId: channel.id });
      for (const k of ['integrationId', 'integration_id', 'setting_id']) ids[k] = randomUUID();
      const viewer = (await t.gqlRaw('{ viewer { id } }')).data as { viewer: { id: string } };
      rc = { 'x-auth-token': t.token, 'x-user-id': viewer.viewer.id };
      const created = await fetch(`${t.url}/api/v1/integrations.create`, {
        method: 'POST',
        headers: json(rc),
        body: JSON.stringify({ type: 'webhook-incoming', username: 'bot', channel: '#general', scriptEnabled: false, name: 'hook', enabled: true }),
      });
      const integration = ((await created.json()) as { integration: { _id: string; token: string } }).integration;
      hookPath = `/hooks/${integration._id}/${integration.token}`;
      const connect = await t.gqlRaw(
        'mutation($c: ID!) { connectCustomChannel(input: { channelId: $c, baseUrl: "http://127.0.0.1:9" }) { __typename ... on MutationConnectCustomChannelSuccess { data { apiToken } } ... on Error { message } } }',
        { c: channel.id },
      );
      channelToken = (connect.data as { connectCustomChannel: { data: { apiToken: string } } }).connectCustomChannel.data.apiToken;
    });
    afterAll(() => t.close());

    /** Row counts of every table. */
    async function counts(): Promise<Record<string, number>> {
      const out: Record<string, number> = {};
      const conn = t.app.orm.em.getConnection();
      for (const meta of Object.values(t.app.orm.getMetadata().getAll())) {
        if (meta.embeddable || meta.virtual || !meta.tableName || meta.abstract) continue;
        const rows = (await conn.execute(`select count(*) as c from "${meta.tableName}"`)) as { c: number | string }[];
        out[meta.tableName] = Number(rows[0].c);
      }
      return out;
    }

    async function run(cases: Case[]) {
      const failures: string[] = [];
      const statuses: Record<string, number> = {};
      let before = await counts();
      for (const c of cases) {
        const res = await fetch(`${t.url}${c.path}`, { method: c.method, headers: c.headers, body: c.body });
        const text = await res.text();
        const key = `${c.door} ${res.status}`;
        statuses[key] = (statuses[key] ?? 0) + 1;
        const label = `${c.door} ${c.method} ${c.path.slice(0, 80)} ${c.name}`;
        if (res.status >= 500) failures.push(`${label}: ${res.status} ${text.slice(0, 200)}`);
        if (c.field !== undefined) {
          if (res.status !== 400) failures.push(`${label}: expected 400, got ${res.status} ${text.slice(0, 200)}`);
          else if (!text.includes(c.field)) failures.push(`${label}: the answer does not name ${c.field}: ${text.slice(0, 200)}`);
        }
        let after = await counts();
        if (res.status >= 400) {
          // An incoming hook's failed call is recorded in its history (README, Rocket.Chat: History): the
          // audit trail of the refusal, not a change of the data.
          const changed = Object.keys(after).filter((k) => after[k] !== before[k] && !(c.door === 'hooks' && k === 'webhook_integration_history'));
          if (changed.length) failures.push(`${label}: refused with ${res.status} but rows changed in ${changed.join(', ')}`);
        } else {
          // Accepted messages are committed in batches after the answer: wait until the counts settle.
          for (let i = 0; i < 20; i++) {
            await new Promise((r) => setTimeout(r, 25));
            const again = await counts();
            if (JSON.stringify(again) === JSON.stringify(after)) break;
            after = again;
          }
        }
        before = after;
      }
      return { failures, statuses, total: cases.length };
    }

    it('Telex REST routes (from /docs/json), webhooks and return URLs', async () => {
      const doc = (await (await fetch(`${t.url}/docs/json`)).json()) as {
        paths: Record<string, Record<string, { parameters?: { in: string; name: string }[]; requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, { type?: string | string[] }> } }> } }>>;
      };
      const cases: Case[] = [];
      const auth = { authorization: `Bearer ${t.token}` };
      for (const [template, ops] of Object.entries(doc.paths)) {
        if (/^\/(admin|docs|healthz|readyz|metrics|graphql|api\/v1|hooks|custom)/.test(template)) continue;
        for (const [method, op] of Object.entries(ops)) {
          const path = template.replace(/\{(\w+)\}/g, (_m, name: string) => ids[name] ?? 'x');
          const props = op.requestBody?.content?.['application/json']?.schema?.properties;
          const base = props ? Object.fromEntries(Object.keys(props).map((k) => [k, 'x'])) : undefined;
          const upper = method.toUpperCase();
          const body = base ? JSON.stringify(base) : undefined;
          cases.push(...paramCases('rest', upper, template, ids, auth, body));
          const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
          cases.push(...queryCases('rest', upper, path, auth, query.length ? query : ['extra']));
          if (base) cases.push(...bodyCases('rest', upper, path, auth, base));
        }
      }
      // The channel webhook's documented body, and the return URL's.
      const webhook = { message: 'hi', username: 'u', event_name: 'e', status: 'success' };
      cases.push(...bodyCases('webhook', 'POST', `/v1/webhooks/${ids.channel_id}`, {}, webhook));
      cases.push(...bodyCases('return', 'POST', `/v1/return/${ids.channel_id}?token=x`, {}, webhook));
      const r = await run(cases);
      console.log(`${db} REST: ${r.total} cases`, r.statuses);
      expect(r.failures).toEqual([]);
      expect(r.total).toBeGreaterThan(300);
    }, CASES_TIMEOUT_MS);

    it("Rocket.Chat's API and hooks, and the custom-channel webhook", async () => {
      const cases: Case[] = [];
      const create = { type: 'webhook-incoming', username: 'bot', channel: '#general', name: 'n', alias: 'a', avatar: 'http://x/a.png', emoji: ':x:', script: 'x' };
      cases.push(...bodyCases('rocketchat', 'POST', '/api/v1/integrations.create', rc, create));
      cases.push(...bodyCases('rocketchat', 'PUT', '/api/v1/integrations.update', rc, { ...create, integrationId: 'x' }));
      cases.push(...bodyCases('rocketchat', 'POST', '/api/v1/integrations.remove', rc, { type: 'webhook-incoming', integrationId: 'x' }));
      cases.push(...queryCases('rocketchat', 'GET', '/api/v1/integrations.get', rc, ['integrationId', 'createdBy']));
      cases.push(...queryCases('rocketchat', 'GET', '/api/v1/integrations.list', rc, ['name', 'type', 'query', 'sort']));
      cases.push(...queryCases('rocketchat', 'GET', '/api/v1/integrations.history', rc, ['id', 'query']));
      cases.push(...bodyCases('hooks', 'POST', hookPath, {}, { text: 'hi', alias: 'a', emoji: ':x:', channel: '#general', attachments: [{ text: 't', title: 'T' }] }));
      cases.push(...queryCases('hooks', 'GET', hookPath, {}, ['text', 'alias', 'channel']));
      cases.push(...paramCases('hooks', 'POST', '/hooks/:integrationId/:token', {}, {}, JSON.stringify({ text: 'hi' })));
      const bearer = { authorization: `Bearer ${channelToken}` };
      const push = { channelId: ids.channel_id, contactId: '+60123', events: [{ type: 'message', mId: 'm1', message: { type: 'text', text: 'hi' } }], contact: { firstName: 'A', lastName: 'B', phone: '+60123' } };
      cases.push(...bodyCases('custom-channel', 'POST', '/custom/channel/webhook', bearer, push));
      // A push whose second event is refused stores nothing (not even the first).
      cases.push({
        door: 'custom-channel',
        name: 'second event too long',
        method: 'POST',
        path: '/custom/channel/webhook/',
        headers: json(bearer),
        body: JSON.stringify({ ...push, events: [push.events[0], { ...push.events[0], mId: 'm2', message: { type: 'text', text: 'x'.repeat(70_000) } }] }),
        field: 'events.1.message.text',
      });
      const r = await run(cases);
      console.log(`${db} Rocket.Chat and custom channel: ${r.total} cases`, r.statuses);
      expect(r.failures).toEqual([]);
      expect(r.total).toBeGreaterThan(200);
    }, CASES_TIMEOUT_MS);

    it('GraphQL mutations with variables and literals', async () => {
      const ops: { query: string; variables: Record<string, unknown> }[] = [
        { query: 'mutation($input: CreateOrganisationInput!) { createOrganisation(input: $input) { __typename } }', variables: { input: { name: 'x' } } },
        { query: 'mutation($input: RenameOrganisationInput!) { renameOrganisation(input: $input) { __typename } }', variables: { input: { id: ids.organisationId, name: 'x' } } },
        { query: 'mutation($input: CreateChannelInput!) { createChannel(input: $input) { __typename } }', variables: { input: { organisationId: ids.organisationId, name: 'x', description: 'd' } } },
        {
          query: 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }',
          variables: { input: { channelId: ids.channel_id, message: 'm', eventName: 'e', status: 'success', username: 'u' } },
        },
        { query: 'mutation($input: AddIntegrationInput!) { addIntegration(input: $input) { __typename } }', variables: { input: { organisationId: ids.organisationId, jsonUrl: 'http://127.0.0.1:9/spec.json' } } },
      ];
      const cases: Case[] = [];
      const headers = json({ authorization: `Bearer ${t.token}` });
      const graphqlCase = (name: string, query: string, variables: unknown, field?: string): Case => ({ door: 'graphql', name, method: 'POST', path: '/graphql', headers, body: JSON.stringify({ query, variables }), field });
      for (const op of ops) {
        for (const leaf of stringPaths(op.variables)) {
          cases.push(graphqlCase(`NUL in $${leaf}`, op.query, withField(op.variables, leaf, NUL), leaf));
          cases.push(graphqlCase(`lone surrogate in $${leaf}`, op.query, withField(op.variables, leaf, SURROGATE), leaf));
          cases.push(graphqlCase(`number as $${leaf}`, op.query, withField(op.variables, leaf, { x: 1 }), leaf));
          cases.push(graphqlCase(`100k string as $${leaf}`, op.query, withField(op.variables, leaf, 'x'.repeat(100_000))));
          // The same value as a literal in the document.
          const literal = op.query.replace(/^mutation\(\$input: \w+!\) \{ (\w+)\(input: \$input\)/, (_m, f: string) => `mutation { ${f}(input: ${JSON.stringify(op.variables.input).replace(/"(\w+)":/g, '$1:')})`);
          const field = leaf.replace(/^input\./, '');
          const withNul = literal.replace(`${field}:"${(op.variables.input as Record<string, string>)[field]}"`, `${field}:"a\\u0000b"`);
          cases.push(graphqlCase(`NUL literal in ${leaf}`, withNul, {}, leaf));
          cases.push(graphqlCase(`array as $${leaf}`, op.query, withField(op.variables, leaf, ['x']), leaf));
          cases.push(graphqlCase(`lone surrogate literal in ${leaf}`, withNul.replace('\\u0000', '\\ud800'), {}));
        }
        cases.push({ door: 'graphql', name: 'variables nested 10,000 deep', method: 'POST', path: '/graphql', headers, body: `{"query":${JSON.stringify(op.query)},"variables":${DEEP_TEXT}}`, field: 'a' });
        cases.push(graphqlCase('missing input', op.query, {}, 'input'));
      }
      cases.push({ door: 'graphql', name: 'JSON nested 10,000 deep', method: 'POST', path: '/graphql', headers, body: DEEP_TEXT, field: 'a' });
      cases.push({ door: 'graphql', name: 'malformed JSON', method: 'POST', path: '/graphql', headers, body: '{"query": ' });
      cases.push({ door: 'graphql', name: 'text/plain', method: 'POST', path: '/graphql', headers: { ...headers, 'content-type': 'text/plain' }, body: 'mutation { x }' });
      cases.push({ door: 'graphql', name: 'GET with NUL variables', method: 'GET', path: `/graphql?query=${encodeURIComponent('{ organisation(id: $id) { id } }')}&variables=${encodeURIComponent(JSON.stringify({ id: NUL }))}`, headers });
      const r = await run(cases);
      console.log(`${db} GraphQL: ${r.total} cases`, r.statuses);
      expect(r.failures).toEqual([]);
      expect(r.total).toBeGreaterThan(100);
    }, CASES_TIMEOUT_MS);
  });
}
