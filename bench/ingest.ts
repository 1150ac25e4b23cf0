/**
 * Webhook ingest throughput: the gateway's POST /v1/webhooks/{channel_id} (validated, stored durably,
 * published to a live graphql-ws subscriber, 202 after commit) against a bare node:http handler doing
 * one INSERT per request into the same kind of database (its own, so that neither waits on the other's
 * SQLite write lock). Both run as separate processes; the load generator
 * runs here, alternating baseline and gateway rounds in the same run. Prints req/s, p50/p99 and the ratio.
 *
 * npm run bench:ingest            (SQLite, and PostgreSQL when TEST_DATABASE_URL or the local default answers)
 * BENCH_SECONDS=5 BENCH_CONCURRENCY=64 BENCH_DB=sqlite|postgres npm run bench:ingest
 */
import { cpus, loadavg } from 'node:os';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { processCpuMs, runLoad, type LoadResult } from './load.js';
import { ADMIN_TOKEN, benchDatabase, median, postgresReachable, seedChannel } from './setup.js';
import { spawnBuiltGateway, spawnScript } from './spawn.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 64);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const kinds = process.env.BENCH_DB ? [process.env.BENCH_DB as 'sqlite' | 'postgres'] : (['sqlite', ...((await postgresReachable()) ? ['postgres' as const] : [])] as const);

function body(channelId: string, i: number) {
  return JSON.stringify({
    channel_id: channelId,
    webhook_slug: 'bench',
    action_type: 'create',
    status_code: '200',
    event_name: 'bench',
    username: 'loadgen',
    status: 'success',
    message: `message number ${i} from the ingest benchmark`,
    user_id: 'bench-user',
    org_id: 'bench-org',
  });
}

/** A round, with the CPU time per answered request of the serving process and of this one (the load generator and the live subscriber). */
type Measured = LoadResult & { cpuUs: number | null; loadCpuUs: number | null };
const fmt = (r: Measured) => `${r.perSecond.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  failed ${r.failed}  CPU ${r.cpuUs === null ? '?' : r.cpuUs.toFixed(0)} µs/req (load generator ${r.loadCpuUs === null ? '?' : r.loadCpuUs.toFixed(0)})`;

for (const kind of kinds) {
  const db = await benchDatabase(kind);
  const env = { DATABASE_URL: db.url, SWITCHBOARD_DATA_DIR: db.dataDir, SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'warn' };
  const gateway = await spawnBuiltGateway(env, 60_000, (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean));
  const { channelId } = await seedChannel(gateway.url);
  const baseDb = await benchDatabase(kind);
  const baseline = await spawnScript('bench/ingest-baseline.ts', { DATABASE_URL: baseDb.url, SWITCHBOARD_DATA_DIR: baseDb.dataDir, LOG_LEVEL: 'warn' });

  // A live subscriber: ingest is measured with publishing on, and every accepted message must reach it.
  let received = 0;
  const client = createClient({ url: `${gateway.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  await new Promise<void>((resolve, reject) => {
    client.subscribe(
      { query: 'subscription($c: ID!) { channelMessages(channelId: $c) { id } }', variables: { c: channelId } },
      { next: () => void received++, error: reject, complete: () => {} },
    );
    client.on('connected', () => setTimeout(resolve, 300));
  });

  const run = (url: string, path: string, s: number) => runLoad({ url, concurrency, seconds: s, request: (i) => ({ method: 'POST', path, body: body(channelId, i) }) });
  /** A round of load, with the CPU time the serving process spent per answered request (µs; null without /proc). */
  const measured = async (server: { child: { pid?: number } }, url: string, path: string) => {
    const before = processCpuMs(server.child.pid);
    const ownBefore = processCpuMs(process.pid);
    const result = await run(url, path, seconds);
    const after = processCpuMs(server.child.pid);
    const ownAfter = processCpuMs(process.pid);
    const perRequest = (a: number | null, b: number | null) => (a === null || b === null ? null : ((b - a) * 1000) / Math.max(1, result.ok));
    return { ...result, cpuUs: perRequest(before, after), loadCpuUs: perRequest(ownBefore, ownAfter) };
  };
  const gatewayPath = `/v1/webhooks/${channelId}`;
  await run(baseline.url, '/', 1);
  await run(gateway.url, gatewayPath, 1);
  await new Promise((r) => setTimeout(r, 1_000));

  const base: Measured[] = [];
  const ours: Measured[] = [];
  let accepted = 0;
  const receivedBefore = received;
  for (let r = 0; r < rounds; r++) {
    base.push(await measured(baseline, baseline.url, '/'));
    const g = await measured(gateway, gateway.url, gatewayPath);
    accepted += g.ok;
    ours.push(g);
  }
  await new Promise((r) => setTimeout(r, 1_000));
  const lost = accepted - (received - receivedBefore);

  console.log(`\ningest on ${kind} (${concurrency} connections, ${rounds} x ${seconds} s each, alternating)`);
  base.forEach((b, i) => {
    console.log(`  baseline (node:http + 1 INSERT)  ${fmt(b)}`);
    console.log(`  gateway  (webhook, group commit) ${fmt(ours[i])}`);
  });
  const ratio = median(ours.map((r) => r.perSecond)) / median(base.map((r) => r.perSecond));
  const p99 = median(ours.map((r) => r.p99)) / median(base.map((r) => r.p99));
  console.log(`  median ratio gateway/baseline: ${ratio.toFixed(2)}x req/s (target >= 2.0x), ${p99.toFixed(2)}x p99 (target <= 1.5x)`);
  const cpu = (rs: Measured[]) => (rs.every((r) => r.cpuUs !== null) ? `${median(rs.map((r) => r.cpuUs!)).toFixed(0)} µs` : 'unknown');
  console.log(`  median CPU per request (every thread of the serving process): gateway ${cpu(ours)}, baseline ${cpu(base)}`);
  console.log(`  load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (${cpus().length} CPUs, shared)`);
  console.log(`  accepted ${accepted}, received by the live subscriber ${received - receivedBefore}, lost ${lost}`);

  await client.dispose();
  await baseline.stop();
  await gateway.stop();
  await db.drop();
  await baseDb.drop();
}
