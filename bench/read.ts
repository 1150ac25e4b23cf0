/**
 * GraphQL reads: one organisation → its 20 channels → the 5 integrations switched on in each → their 5
 * settings (organisation, channel and effective values), over HTTP with a bearer token, against graphql-js
 * `execute` on a bare node:http server with the same schema, resolvers, DataLoaders and request scope
 * (bench/read-baseline.ts), in the same run and on the same database. For each side, closed-loop load:
 * answers/s, p50/p99. Before the load, both answers are checked to be the same tree, and the SQL statements
 * of one answer are counted on the baseline (the same resolvers and loaders) for a 1 × 1 × 1 organisation
 * and for the 20 × 5 × 5 one: they must be equal.
 *
 * npm run bench:read     (env: BENCH_DB=sqlite|postgres, BENCH_SECONDS (5), BENCH_ROUNDS (4), BENCH_CONCURRENCY (8),
 *                        BENCH_GATEWAY_NODE_ARGS='--cpu-prof --cpu-prof-dir=prof' to profile the gateway)
 */
import http from 'node:http';
import { loadavg } from 'node:os';
import { runLoad, type LoadResult } from './load.js';
import { ADMIN_TOKEN, benchDatabase, gql } from './setup.js';
import { spawnBuiltGateway, spawnScript } from './spawn.js';

const kind = (process.env.BENCH_DB ?? 'sqlite') as 'sqlite' | 'postgres';
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
// Rounds of each side, alternating: the machine's drift between two rounds can exceed the difference measured.
const roundCount = Number(process.env.BENCH_ROUNDS ?? 4);
const CHANNELS = 20;
const INTEGRATIONS = 5;
const SETTINGS = 5;

/** Integration specs served to the gateway: output integrations with SETTINGS text settings each. */
function spec(i: number) {
  return {
    data: {
      descriptions: { app_name: `Reader ${i}`, app_description: 'Bench integration.', app_logo: 'https://example.com/l.png', app_url: 'https://example.com', background_color: '#fff' },
      integration_category: 'Monitoring & Logging',
      integration_type: 'output',
      is_active: false,
      key_features: ['reads'],
      settings: Array.from({ length: SETTINGS }, (_, s) => ({ label: `Setting ${s}`, type: 'text', required: true, default: `default ${s}` })),
      target_url: 'https://example.com/out',
    },
  };
}
const specs = http.createServer((req, res) => {
  const i = Number(/\/spec-(\d+)\.json$/.exec(req.url ?? '')?.[1]);
  if (!Number.isInteger(i)) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(spec(i)));
});
await new Promise<void>((resolve) => specs.listen(0, '127.0.0.1', resolve));
const specBase = `http://127.0.0.1:${(specs.address() as { port: number }).port}`;

const db = await benchDatabase(kind);
const env = {
  DATABASE_URL: db.url,
  SWITCHBOARD_DATA_DIR: db.dataDir,
  SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
  LOG_LEVEL: 'warn',
  OUTBOUND_ALLOW_PRIVATE: '127.0.0.1',
  // Closed-loop load from one address and one token: the per-caller rate limits would answer 429.
  RATE_LIMIT_ADDRESS: 'off',
  RATE_LIMIT_TOKEN: 'off',
};
const gateway = await spawnBuiltGateway(env, 60_000, (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean));

/** Several mutations in one document, `perDocument` at a time (under the alias limit). */
async function batched(calls: string[], perDocument = 10) {
  for (let i = 0; i < calls.length; i += perDocument) {
    const body = calls.slice(i, i + perDocument).map((call, j) => `m${j}: ${call}`).join('\n');
    const data = await gql<Record<string, { __typename: string; message?: string }>>(gateway.url, `mutation {\n${body}\n}`);
    for (const answer of Object.values(data)) if (answer.__typename.endsWith('Error') || answer.message) throw new Error(JSON.stringify(answer));
  }
}

/** An organisation with `channels` channels, each with `integrations` integrations and `settings` values set at both levels. */
async function seed(name: string, channels: number, integrations: number, settings: number) {
  const org = await gql<{ createOrganisation: { data: { id: string } } }>(gateway.url, `mutation { createOrganisation(input: { name: "${name}" }) { ... on MutationCreateOrganisationSuccess { data { id } } } }`);
  const orgId = org.createOrganisation.data.id;
  const integrationIds: string[] = [];
  for (let i = 0; i < integrations; i++) {
    const added = await gql<{ addIntegration: { data?: { id: string }; message?: string } }>(
      gateway.url,
      `mutation($o: ID!, $u: String!) { addIntegration(input: { organisationId: $o, jsonUrl: $u }) { ... on MutationAddIntegrationSuccess { data { id } } ... on Error { message } } }`,
      { o: orgId, u: `${specBase}/spec-${i}.json` },
    );
    if (!added.addIntegration.data) throw new Error(`addIntegration: ${added.addIntegration.message}`);
    integrationIds.push(added.addIntegration.data.id);
  }
  const channelIds: string[] = [];
  await batched(Array.from({ length: channels }, (_, c) => `createChannel(input: { organisationId: "${orgId}", name: "c${c}" }) { __typename ... on Error { message } }`), 1);
  const listed = await gql<{ organisation: { channels: { edges: { node: { id: string } }[] } } }>(gateway.url, `query($o: ID!) { organisation(id: $o) { channels(first: 100) { edges { node { id } } } } }`, { o: orgId });
  channelIds.push(...listed.organisation.channels.edges.map((e) => e.node.id));
  const calls: string[] = [];
  for (const integrationId of integrationIds) {
    for (let s = 0; s < settings; s++) calls.push(`setIntegrationSetting(input: { integrationId: "${integrationId}", label: "Setting ${s}", value: "org ${s}" }) { __typename ... on Error { message } }`);
    for (const channelId of channelIds) {
      calls.push(`enableIntegration(input: { integrationId: "${integrationId}", channelId: "${channelId}" }) { __typename ... on Error { message } }`);
      for (let s = 0; s < settings; s++) calls.push(`setChannelIntegrationSetting(input: { integrationId: "${integrationId}", channelId: "${channelId}", label: "Setting ${s}", value: "channel ${s}" }) { __typename ... on Error { message } }`);
    }
  }
  await batched(calls);
  return orgId;
}

const started = Date.now();
const small = await seed('read-small', 1, 1, 1);
const large = await seed('read-large', CHANNELS, INTEGRATIONS, SETTINGS);
console.log(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
const baseline = await spawnScript('bench/read-baseline.ts', env);

const query = `query Read($id: ID!) {
  organisation(id: $id) {
    id
    name
    channels(first: ${CHANNELS}) {
      edges {
        node {
          id
          name
          integrations {
            position
            integration { id appName settings { label value } }
            settings { label value }
            effectiveSettings { label value source }
          }
        }
      }
    }
  }
}`;
const body = (id: string) => JSON.stringify({ query, variables: { id }, operationName: 'Read' });

async function post(url: string, payload: string) {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` }, body: payload });
  return { status: res.status, text: await res.text() };
}

// Both sides answer the same, complete tree.
const ours = await post(gateway.url, body(large));
const theirs = await post(baseline.url, body(large));
if (ours.status !== 200 || theirs.status !== 200) throw new Error(`answers ${ours.status} / ${theirs.status}: ${ours.text.slice(0, 500)} ${theirs.text.slice(0, 500)}`);
if (ours.text !== theirs.text) throw new Error(`the gateway and the baseline answered differently:\n${ours.text.slice(0, 800)}\n${theirs.text.slice(0, 800)}`);
const tree = JSON.parse(ours.text) as { data: { organisation: { channels: { edges: { node: { integrations: { settings: unknown[]; effectiveSettings: unknown[] }[] } }[] } } } };
const edges = tree.data.organisation.channels.edges;
if (edges.length !== CHANNELS || edges.some((e) => e.node.integrations.length !== INTEGRATIONS || e.node.integrations.some((i) => i.settings.length !== SETTINGS))) {
  throw new Error(`incomplete tree: ${ours.text.slice(0, 800)}`);
}

// SQL statements of one answer, counted where the same resolvers and loaders run in-process.
async function statementsOf(orgId: string) {
  const count = async () => ((await (await fetch(`${baseline.url}/statements`)).json()) as { statements: number }).statements;
  const before = await count();
  await post(baseline.url, body(orgId));
  return (await count()) - before;
}
const smallStatements = await statementsOf(small);
const largeStatements = await statementsOf(large);

const load = (url: string, orgId: string) =>
  runLoad({ url, concurrency, seconds, request: () => ({ method: 'POST', path: '/graphql', body: body(orgId), headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }) });
// Warm-up (JIT, caches, connection pools) on both, then alternate so that drifting load hits both alike.
await load(baseline.url, large);
await load(gateway.url, large);
const rounds: { base: LoadResult; ours: LoadResult }[] = [];
for (let r = 0; r < roundCount; r++) rounds.push({ base: await load(baseline.url, large), ours: await load(gateway.url, large) });

const line = (name: string, r: LoadResult) =>
  console.log(`  ${name.padEnd(40)} ${r.perSecond.toFixed(1).padStart(6)} answers/s   p50 ${r.p50.toFixed(1)} ms   p99 ${r.p99.toFixed(1)} ms   failed ${r.failed}`);
console.log(`\nGraphQL read of ${CHANNELS} channels × ${INTEGRATIONS} integrations × ${SETTINGS} settings (${Buffer.byteLength(ours.text)} bytes) on ${kind}, ${concurrency} connections, ${seconds} s per round; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`  SQL statements per answer: ${smallStatements} for 1 × 1 × 1, ${largeStatements} for ${CHANNELS} × ${INTEGRATIONS} × ${SETTINGS}${smallStatements === largeStatements ? ' (constant)' : ' (GROWS WITH THE LIST)'}`);
for (const { base, ours } of rounds) {
  line('baseline (graphql-js execute, node:http)', base);
  line('gateway (Fastify + Yoga)', ours);
}
const sum = (xs: LoadResult[]) => xs.reduce((a, r) => a + r.perSecond, 0);
const ratio = sum(rounds.map((r) => r.ours)) / sum(rounds.map((r) => r.base));
const failed = rounds.reduce((a, r) => a + r.ours.failed + r.base.failed, 0);
console.log(`  ratio gateway/baseline: ${ratio.toFixed(2)}x (target >= 1.0x); failed ${failed}`);

await baseline.stop();
await gateway.stop();
specs.close();
await db.drop();
if (smallStatements !== largeStatements || failed) process.exitCode = 1;
