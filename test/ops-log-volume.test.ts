import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/infra/logger.js';
import { LogCapture, startOpsApp, type OpsApp } from './support/ops.js';
import { createChannel, createOrg } from './support/seed.js';

const ERROR = 50;
const level = (line: Record<string, unknown>) => line.level as number;

async function anonymousAliases(t: OpsApp, count: number) {
  const query = `{ ${Array.from({ length: count }, (_, i) => `v${i}: viewer { id }`).join(' ')} }`;
  const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return { status: res.status, body: (await res.json()) as { errors?: { extensions?: { code?: string } }[] } };
}

describe('logs an operator can afford', () => {
  let t: OpsApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('one anonymous request of 1,000 `viewer` aliases, refused by the limits: one short line, no error', async () => {
    t = await startOpsApp('sqlite');
    const before = t.logs.text.length;
    const { status, body } = await anonymousAliases(t, 1000);
    expect(status).toBe(400);
    expect(body.errors?.[0].extensions?.code).toMatch(/_LIMIT_EXCEEDED$/);
    await new Promise((r) => setTimeout(r, 50));
    const written = t.logs.text.slice(before);
    expect(written.length).toBeLessThan(2_000);
    expect(written).not.toContain('"stack"');
    expect(t.logs.lines.filter((l) => level(l) >= ERROR)).toEqual([]);
  });

  it('the same request executed (limits raised): 1,000 UNAUTHENTICATED errors write a few KB, at no error level, without stacks', async () => {
    t = await startOpsApp('sqlite', { env: { GRAPHQL_MAX_ALIASES: '5000', GRAPHQL_MAX_CHARS: '100000', GRAPHQL_MAX_TOKENS: '100000' } });
    const before = t.logs.text.length;
    const { body } = await anonymousAliases(t, 1000);
    expect(body.errors).toHaveLength(1000);
    expect(body.errors?.every((e) => e.extensions?.code === 'UNAUTHENTICATED')).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    const written = t.logs.text.slice(before);
    console.log(`log bytes for 1,000 anonymous viewer aliases, executed: ${written.length}`);
    expect(written.length).toBeLessThan(4_000);
    expect(written).not.toContain('"stack"');
    expect(t.logs.lines.filter((l) => level(l) >= ERROR)).toEqual([]);
  });

  it('expected failures are logged at debug, one short line each, when debug is on', async () => {
    t = await startOpsApp('sqlite', { level: 'debug' });
    const before = t.logs.text.length;
    const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ a: viewer { id } b: viewer { id } }' }) });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    const lines = t.logs.text.slice(before).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => level(l) >= ERROR)).toEqual([]);
    expect(JSON.stringify(lines)).not.toContain('"stack"');
  });

  it("a database error's log line carries the driver's message but no SQL text or values", async () => {
    t = await startOpsApp('sqlite');
    const orgId = await createOrg(t, 'Db errors');
    await createChannel(t, orgId, 'first');
    // The channel table goes away under the running app: the next insert fails in the driver.
    await t.app.orm.em.getConnection().execute('alter table channels rename to channels_gone');
    const secret = 'sekrit-channel-name-8c1f';
    const res = await t.gqlRaw(`mutation { createChannel(input: { organisationId: "${orgId}", name: "${secret}", description: "also-${secret}" }) { __typename } }`);
    expect(res.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(res)).not.toContain(secret);
    await new Promise((r) => setTimeout(r, 50));
    const errors = t.logs.lines.filter((l) => level(l) >= ERROR);
    expect(errors.length).toBeGreaterThan(0);
    expect(t.logs.text).not.toContain(secret);
    expect(t.logs.text).not.toMatch(/insert into/i);
    expect(JSON.stringify(errors)).toContain('no such table');
  });

  it('the jobs dashboard answers a job store failure without its SQL', async () => {
    t = await startOpsApp('sqlite');
    await t.app.orm.em.getConnection().execute('alter table agenda_jobs rename to agenda_jobs_gone');
    const secret = 'sekrit-job-name-5d2a';
    const res = await fetch(`${t.url}/admin/jobs/api?job=${secret}&limit=5`, { headers: { authorization: `Bearer ${t.token}` } });
    const text = await res.text();
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(text).not.toContain(secret);
    expect(text).not.toMatch(/select |from `?agenda_jobs/i);
    expect(JSON.parse(text)).toHaveProperty('error');
    // The secret is in the access log's URL, and nowhere else (no statement carrying it).
    const carrying = t.logs.text.split('\n').filter((line) => line.includes(secret));
    expect(carrying.length).toBeGreaterThan(0);
    for (const line of carrying) expect(line).not.toMatch(/select|agenda_jobs/i);
  });

  it('the serializer strips statements and values of PostgreSQL-shaped errors too', () => {
    const out = new LogCapture();
    const log = createLogger({ level: 'info', pretty: false, destination: out });
    const error = Object.assign(new Error(`insert into "user" ("name", "email") values ('alice', 'alice@example.com') - duplicate key value violates unique constraint "user_name_unique"`), {
      name: 'UniqueConstraintViolationException',
      code: '23505',
      detail: 'Key (name)=(alice) already exists.',
      query: `insert into "user" ("name") values ($1)`,
    });
    log.error({ err: error }, 'unexpected error');
    expect(out.text).not.toContain('alice');
    expect(out.text).not.toMatch(/insert into/i);
    expect(out.lines[0].err).toMatchObject({ message: '[SQL statement] - duplicate key value violates unique constraint "user_name_unique"', code: '23505' });
  });
});
