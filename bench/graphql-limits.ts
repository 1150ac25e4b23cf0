/**
 * How fast the GraphQL limits refuse abusive documents, and how /healthz answers meanwhile: a gateway in
 * its own process (SQLite in a temporary directory), each document sent `ROUNDS` times one after another
 * (median and p90 of the round trip), then a flood of 1 MB documents with /healthz polled through it.
 * Prints the figures; the target is well under 50 ms per refusal.
 *
 *   npx tsx bench/graphql-limits.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnBuiltGateway } from './spawn.js';

const ROUNDS = 25;
const dir = mkdtempSync(path.join(tmpdir(), 'sb-bench-limits-'));
const gateway = await spawnBuiltGateway({ SWITCHBOARD_DATA_DIR: dir, DATABASE_URL: path.join(dir, 'bench.db'), SWITCHBOARD_ADMIN_TOKEN: 'sb_bench_admin_token_0123456789abcdef' });

const id = '00000000-0000-4000-8000-000000000000';
let nested = 'id';
for (let level = 12; level >= 2; level--) nested = `${level % 2 === 0 ? 'integrations' : 'organisation'} { ${nested} }`;
let huge = `{ ${Array.from({ length: 53_000 }, (_, i) => `a${i}:viewer{id}`).join(' ')} }`;
huge = huge.slice(0, -1).padEnd(999_999, ' ') + '}';
const documents: [string, string][] = [
  ['13-level integrations/organisation nesting', `{ organisation(id: "${id}") { ${nested} } }`],
  ['1,000 aliases of messages(first: 100)', `{ ${Array.from({ length: 1000 }, (_, i) => `m${i}: messages(channelId: "${id}", first: 100) { edges { node { id message } } }`).join(' ')} }`],
  ['1 MB document, 53,000 aliases', huge],
];

const body = (query: string) => JSON.stringify({ query });
async function send(payload: string) {
  const started = performance.now();
  const res = await fetch(`${gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
  await res.arrayBuffer();
  if (res.status !== 400) throw new Error(`expected 400, got ${res.status}`);
  return performance.now() - started;
}
const stats = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms, p90 ${sorted[Math.floor(sorted.length * 0.9)].toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms`;
};

try {
  for (const [name, query] of documents) {
    const payload = body(query);
    await send(payload);
    const times: number[] = [];
    for (let i = 0; i < ROUNDS; i++) times.push(await send(payload));
    console.log(`${name} (${payload.length} B): refused in ${stats(times)}`);
  }
  const payload = body(huge);
  let flooding = true;
  const flood = (async () => {
    for (let i = 0; i < 40; i++) await Promise.all([send(payload), send(payload)]);
    flooding = false;
  })();
  const health: number[] = [];
  while (flooding) {
    const started = performance.now();
    const res = await fetch(`${gateway.url}/healthz`);
    await res.arrayBuffer();
    health.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, 10));
  }
  await flood;
  console.log(`/healthz during 80 x 1 MB documents (2 at a time): ${stats(health)} (${health.length} checks)`);
} finally {
  await gateway.stop();
  rmSync(dir, { recursive: true, force: true });
}
