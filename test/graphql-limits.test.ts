import { getIntrospectionQuery } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { createChannel, createOrg, createUser } from './support/seed.js';

/** `organisation { integrations { organisation { integrations ... { id } } } }`, `levels` fields deep. */
function nested(organisationId: string, levels: number): string {
  let body = 'id';
  for (let level = levels - 1; level >= 2; level--) body = `${level % 2 === 0 ? 'integrations' : 'organisation'} { ${body} }`;
  return `{ organisation(id: "${organisationId}") { ${body} } }`;
}

async function post(url: string, query: string, token: string | null, headers: Record<string, string> = {}) {
  const started = performance.now();
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query }),
  });
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - started, body: text.startsWith('{') ? (JSON.parse(text) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] }) : undefined };
}

/** Sends `abuse` while polling /healthz; every health check must answer 200. */
async function whileHealthy<T>(url: string, abuse: () => Promise<T>): Promise<{ result: T; healthChecks: number }> {
  let done = false;
  let healthChecks = 0;
  const poll = (async () => {
    while (!done) {
      const res = await fetch(`${url}/healthz`);
      expect(res.status).toBe(200);
      healthChecks++;
    }
  })();
  try {
    const result = await abuse();
    return { result, healthChecks };
  } finally {
    done = true;
    await poll;
  }
}

const timings: string[] = [];

describe('GraphQL limits (defaults)', () => {
  let t: TestApp;
  let orgId: string;
  let channelId: string;
  beforeAll(async () => {
    t = await startTestApp('sqlite');
    orgId = await createOrg(t, 'Limits');
    channelId = (await createChannel(t, orgId, 'general')).id;
  });
  afterAll(async () => {
    await t?.close();
    if (timings.length) console.log(`time to refuse (ms):\n  ${timings.join('\n  ')}`);
  });

  it('refuses the 13-level nested integrations/organisation query before executing it', async () => {
    const query = nested(orgId, 13);
    const { result, healthChecks } = await whileHealthy(t.url, () => Promise.all(Array.from({ length: 20 }, () => post(t.url, query, t.token))));
    for (const r of result) {
      expect(r.status).toBe(400);
      expect(r.body?.data).toBeUndefined();
      expect(r.body?.errors?.[0].extensions?.code).toBe('DEPTH_LIMIT_EXCEEDED');
      expect(r.body?.errors?.[0].message).toMatch(/deeper than 10 levels \(GRAPHQL_MAX_DEPTH\)/);
    }
    expect(healthChecks).toBeGreaterThan(0);
    const single = await post(t.url, query, t.token);
    expect(single.status).toBe(400);
    timings.push(`13-level nesting (${query.length} B): ${single.ms.toFixed(1)} alone, ${Math.max(...result.map((r) => r.ms)).toFixed(1)} the slowest of 20 in parallel`);
  });

  it('refuses 1,000 aliases of messages(first: 100)', async () => {
    const query = `{ ${Array.from({ length: 1000 }, (_, i) => `m${i}: messages(channelId: "${channelId}", first: 100) { edges { node { id message } } }`).join(' ')} }`;
    const { result } = await whileHealthy(t.url, () => post(t.url, query, t.token));
    expect(result.status).toBe(400);
    expect(result.body?.data).toBeUndefined();
    // 80 KB: refused by the character limit before it is parsed.
    expect(result.body?.errors?.[0].extensions?.code).toBe('CHARACTER_LIMIT_EXCEEDED');
    timings.push(`1,000 aliases of messages(first: 100) (${query.length} B): ${result.ms.toFixed(1)}`);

    // Within the character and token limits, the alias limit refuses them.
    const short = `{ ${Array.from({ length: 16 }, (_, i) => `m${i}: messages(channelId: "${channelId}", first: 100) { edges { node { id } } }`).join(' ')} }`;
    const aliased = await post(t.url, short, t.token);
    expect(aliased.status).toBe(400);
    expect(aliased.body?.errors?.[0].extensions?.code).toBe('ALIAS_LIMIT_EXCEEDED');
  });

  it('refuses a 1 MB document of 53,000 aliases without parsing it', async () => {
    let query = `{ ${Array.from({ length: 53_000 }, (_, i) => `a${i}:viewer{id}`).join(' ')} }`;
    query = query.slice(0, -1).padEnd(1_000_000 - 1, ' ') + '}';
    expect(query.length).toBe(1_000_000);
    const { result } = await whileHealthy(t.url, () => Promise.all(Array.from({ length: 5 }, () => post(t.url, query, null))));
    for (const r of result) {
      expect(r.status).toBe(400);
      expect(r.body?.errors?.[0].extensions?.code).toBe('CHARACTER_LIMIT_EXCEEDED');
    }
    const single = await post(t.url, query, null);
    expect(single.status).toBe(400);
    timings.push(`1 MB, 53,000 aliases: ${single.ms.toFixed(1)} alone, ${Math.max(...result.map((r) => r.ms)).toFixed(1)} the slowest of 5 in parallel`);
  });

  it('refuses documents over the token, directive and cost limits with their own codes', async () => {
    const tokens = await post(t.url, `{ viewer { ${'id '.repeat(1000)}} }`, t.token);
    expect([tokens.status, tokens.body?.errors?.[0].extensions?.code]).toEqual([400, 'TOKEN_LIMIT_EXCEEDED']);
    const directives = await post(t.url, `{ viewer { ${'id @include(if: true) '.repeat(51)}} }`, t.token);
    expect([directives.status, directives.body?.errors?.[0].extensions?.code]).toEqual([400, 'DIRECTIVE_LIMIT_EXCEEDED']);
    // 15 aliases (the most allowed) of 100 messages with every field pass; a page of 100 channels with
    // 100 messages each (10,000 rows) does not.
    const wide = `{ ${Array.from({ length: 15 }, (_, i) => `m${i}: messages(channelId: "${channelId}", first: 100) { edges { node { id message username status eventName createdAt channelId } } }`).join(' ')} }`;
    const allowed = await post(t.url, wide, t.token);
    expect(allowed.body?.errors).toBeUndefined();
    const nestedLists = `{ organisation(id: "${orgId}") { channels(first: 100) { edges { node { messages(first: 100) { edges { node { id } } } } } } } }`;
    const cost = await post(t.url, nestedLists, t.token);
    expect([cost.status, cost.body?.errors?.[0].extensions?.code]).toEqual([400, 'COST_LIMIT_EXCEEDED']);
  });

  it('refuses a deep query over graphql-ws as an error of that operation, and the socket goes on', async () => {
    const client: Client = createClient({ url: `${t.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${t.token}` }, retryAttempts: 0 });
    try {
      const run = (query: string) =>
        new Promise<{ errors?: unknown; data?: unknown; ms: number }>((resolve) => {
          const started = performance.now();
          let last: { data?: unknown } = {};
          client.subscribe({ query }, {
            next: (value) => (last = value),
            error: (errors) => resolve({ errors, ms: performance.now() - started }),
            complete: () => resolve({ ...last, ms: performance.now() - started }),
          });
        });
      const { result: refused } = await whileHealthy(t.url, () => run(nested(orgId, 13)));
      expect(JSON.stringify(refused.errors)).toContain('DEPTH_LIMIT_EXCEEDED');
      timings.push(`13-level nesting over graphql-ws: ${refused.ms.toFixed(1)}`);
      const huge = await run(`{ ${'a: viewer { id } '.repeat(1000)}}`);
      expect(JSON.stringify(huge.errors)).toContain('CHARACTER_LIMIT_EXCEEDED');
      const fine = await run('{ viewer { id } }');
      expect(fine.errors).toBeUndefined();
      expect(fine.data).toMatchObject({ viewer: { id: expect.any(String) } });
    } finally {
      await client.dispose();
    }
  });

  it('refuses a deep subscription over SSE', async () => {
    const deep = `subscription { channelMessages(channelId: "${channelId}") { ${'channel { organisation { '.repeat(6)}id${' } }'.repeat(6)} } }`;
    const r = await post(t.url, deep, t.token, { accept: 'text/event-stream' });
    expect(r.text).toContain('DEPTH_LIMIT_EXCEEDED');
  });

  it('lets legitimate operations through: 10 levels deep, the introspection GraphiQL sends', async () => {
    const deep = await post(t.url, nested(orgId, 10), t.token);
    expect(deep.status).toBe(200);
    expect(deep.body?.errors).toBeUndefined();
    expect(deep.body?.data).toMatchObject({ organisation: { integrations: [] } });
    const introspection = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true });
    const schema = await post(t.url, introspection, null);
    expect(schema.body?.errors).toBeUndefined();
    expect(schema.body?.data).toHaveProperty('__schema.queryType.name', 'Query');
    // Outside production, suggestions are shown to anyone.
    const typo = await post(t.url, '{ viewr { id } }', null);
    expect(typo.body?.errors?.[0].message).toContain('Did you mean "viewer"?');
  });
});

describe('GraphQL limits are configurable', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('sqlite', { GRAPHQL_MAX_DEPTH: '3', GRAPHQL_MAX_ALIASES: '1', GRAPHQL_MAX_TOKENS: '40', GRAPHQL_MAX_COST: '100', GRAPHQL_MAX_DIRECTIVES: '1', GRAPHQL_MAX_CHARS: '200' });
  });
  afterAll(async () => t?.close());

  it('applies each variable', async () => {
    const code = async (query: string) => (await post(t.url, query, t.token)).body?.errors?.[0].extensions?.code;
    expect(await code('{ viewer { id } }')).toBeUndefined();
    expect(await code('{ organisations { channels(first: 1) { edges { node { id } } } } }')).toBe('DEPTH_LIMIT_EXCEEDED');
    expect(await code('{ a: viewer { id } b: viewer { id } }')).toBe('ALIAS_LIMIT_EXCEEDED');
    expect(await code(`{ viewer { ${'id '.repeat(40)}} }`)).toBe('TOKEN_LIMIT_EXCEEDED');
    expect(await code('{ viewer { id @include(if: true) name @skip(if: false) } }')).toBe('DIRECTIVE_LIMIT_EXCEEDED');
    expect(await code('{ messages(channelId: "00000000-0000-4000-8000-000000000000", first: 100) { pageInfo { hasNextPage } } }')).toBe('COST_LIMIT_EXCEEDED');
    expect(await code(`{ viewer { id ${' '.repeat(200)}} }`)).toBe('CHARACTER_LIMIT_EXCEEDED');
  });
});

describe('in production, the schema is shown to authenticated callers only', () => {
  let t: TestApp;
  let userToken: string;
  beforeAll(async () => {
    t = await startTestApp('sqlite', { NODE_ENV: 'production' });
    userToken = (await createUser(t, 'reader')).token;
  });
  afterAll(async () => t?.close());

  it('answers introspection to a user, UNAUTHENTICATED to an anonymous caller or a bad token', async () => {
    const query = getIntrospectionQuery();
    const user = await post(t.url, query, userToken);
    expect(user.body?.errors).toBeUndefined();
    expect(user.body?.data).toHaveProperty('__schema.queryType.name', 'Query');
    for (const token of [null, 'sb_not_a_token_at_all_0123456789']) {
      const anonymous = await post(t.url, query, token);
      expect(anonymous.body?.data ?? null).toBeNull();
      expect(anonymous.body?.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      const type = await post(t.url, '{ __type(name: "User") { fields { name } } }', token);
      expect(type.body?.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    }
    // __typename is no introspection of the schema.
    expect((await post(t.url, '{ __typename }', null)).body).toEqual({ data: { __typename: 'Query' } });
  });

  it('masks field suggestions for anonymous callers only (cached validation results included)', async () => {
    for (let round = 0; round < 2; round++) {
      const anonymous = await post(t.url, '{ viewr { id } }', null);
      expect(anonymous.body?.errors?.[0].message).toBe('Cannot query field "viewr" on type "Query".');
      const user = await post(t.url, '{ viewr { id } }', userToken);
      expect(user.body?.errors?.[0].message).toContain('Did you mean "viewer"?');
    }
  });

  it('does the same over graphql-ws', async () => {
    const run = async (token: string | null, query: string) => {
      const client = createClient({ url: `${t.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: token ? { authorization: `Bearer ${token}` } : {}, retryAttempts: 0 });
      try {
        return await new Promise<string>((resolve) => {
          let last: unknown;
          // A close (an anonymous socket is closed with 4403 at connection_init) answers its code.
          client.subscribe({ query }, { next: (v) => (last = v), error: (e) => resolve((e as { code?: number }).code ? `close ${(e as { code: number }).code}` : JSON.stringify(e)), complete: () => resolve(JSON.stringify(last)) });
        });
      } finally {
        await client.dispose();
      }
    };
    expect(await run(null, '{ __schema { queryType { name } } }')).toBe('close 4403');
    expect(await run(userToken, '{ __schema { queryType { name } } }')).toContain('"name":"Query"');
    expect(await run(null, '{ viewr { id } }')).not.toContain('Did you mean');
    expect(await run(userToken, '{ viewr { id } }')).toContain('Did you mean');
  });
});
