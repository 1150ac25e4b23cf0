/**
 * What sandboxed Rocket.Chat scripts cost the gateway, measured in one run against one gateway process:
 *
 * - baseline: a plain incoming hook (`/hooks/{id}/{token}`, no script) under closed-loop load;
 * - hostile: the same load while other callers keep hitting a hook whose script loops until the 3 s
 *   limit (or allocates until the 8 MB limit), `BENCH_HOSTILE` of them at a time;
 * - scripted: a hook whose script is a small transform, so every call builds and runs an isolate.
 *
 * Prints req/s and p50/p99 for each, and the ratios against the baseline. The gateway process runs with
 * --no-node-snapshot, as `npm start` does.
 *
 * npm run bench:rocketchat        (BENCH_SECONDS=4 BENCH_ROUNDS=3 BENCH_CONCURRENCY=16 BENCH_HOSTILE=4 BENCH_DB=sqlite|postgres)
 */
import { runLoad, type LoadResult } from './load.js';
import { ADMIN_TOKEN, benchDatabase, gql, seedChannel } from './setup.js';
import { spawnBuiltGateway } from './spawn.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const hostileCallers = Number(process.env.BENCH_HOSTILE ?? 4);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const kind = (process.env.BENCH_DB ?? 'sqlite') as 'sqlite' | 'postgres';

const db = await benchDatabase(kind);
const gateway = await spawnBuiltGateway({ DATABASE_URL: db.url, SWITCHBOARD_DATA_DIR: db.dataDir, SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'warn' });
try {
  const { orgId, channelId } = await seedChannel(gateway.url);
  const viewer = await gql<{ viewer: { id: string } }>(gateway.url, '{ viewer { id } }');

  async function incoming(name: string, script?: string) {
    const res = await fetch(`${gateway.url}/api/v1/integrations.create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': ADMIN_TOKEN, 'x-user-id': viewer.viewer.id, 'x-organisation-id': orgId },
      body: JSON.stringify({ type: 'webhook-incoming', username: name, channel: '#bench', name, enabled: true, scriptEnabled: !!script, ...(script ? { script } : {}) }),
    });
    const body = (await res.json()) as { integration: { _id: string; token: string } };
    if (!res.ok) throw new Error(`create ${name}: ${JSON.stringify(body)}`);
    return `/hooks/${body.integration._id}/${body.integration.token}`;
  }

  const plain = await incoming('plain');
  const scripted = await incoming('scripted', "class Script { process_incoming_request({ request }) { return { content: { text: 'seen: ' + request.content.text } }; } }");
  const looping = await incoming('looping', 'class Script { process_incoming_request() { for (;;) {} } }');
  const allocating = await incoming('allocating', 'class Script { process_incoming_request() { const a = []; for (;;) a.push(new Array(1 << 20).fill(1)); } }');

  const load = (path: string, s = seconds) =>
    runLoad({ url: gateway.url, concurrency, seconds: s, request: (i) => ({ method: 'POST', path, body: JSON.stringify({ text: `bench message ${i}` }) }) });

  /** Keep `hostileCallers` calls to a hostile hook in flight until stopped; count how many were stopped. */
  function hostile(paths: string[]) {
    let running = true;
    let stopped = 0;
    const loops = Array.from({ length: hostileCallers }, async (_, k) => {
      while (running) {
        const r = await fetch(`${gateway.url}${paths[k % paths.length]}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"x"}' });
        await r.arrayBuffer();
        if (r.status === 400) stopped++;
      }
    });
    return {
      async stop() {
        running = false;
        await Promise.all(loops);
        return stopped;
      },
    };
  }

  // Reference: Telex's channel webhook, the core message path the hooks post through.
  const telex = () =>
    runLoad({
      url: gateway.url,
      concurrency,
      seconds,
      request: (i) => ({
        method: 'POST',
        path: `/v1/webhooks/${channelId}`,
        body: JSON.stringify({ channel_id: channelId, webhook_slug: 'b', action_type: 'create', status_code: '200', event_name: 'b', username: 'b', status: 'success', message: `m ${i}`, user_id: 'u', org_id: orgId }),
      }),
    });
  await load(plain, 1); // warm-up
  await load(scripted, 1);
  // Rounds alternate the four measurements so a noisy machine affects them alike; medians are reported.
  const results: Record<'core' | 'baseline' | 'underAttack' | 'script', LoadResult[]> = { core: [], baseline: [], underAttack: [], script: [] };
  let stoppedScripts = 0;
  for (let round = 0; round < rounds; round++) {
    results.core.push(await telex());
    results.baseline.push(await load(plain));
    const bad = hostile([looping, allocating]);
    await new Promise((r) => setTimeout(r, 200));
    results.underAttack.push(await load(plain));
    stoppedScripts += await bad.stop();
    results.script.push(await load(scripted));
  }
  const mid = (rs: LoadResult[]): LoadResult => {
    const sorted = [...rs].sort((a, b) => a.perSecond - b.perSecond);
    return sorted[Math.floor(sorted.length / 2)];
  };
  const core = mid(results.core);
  const baseline = mid(results.baseline);
  const underAttack = mid(results.underAttack);
  const script = mid(results.script);

  const fmt = (r: LoadResult) => `${r.perSecond.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  failed ${r.failed}`;
  console.log(`Rocket.Chat incoming hooks (${kind}, ${concurrency} connections, ${seconds} s each, median of ${rounds} rounds)`);
  console.log(`  Telex channel webhook (reference)       ${fmt(core)}`);
  console.log(`  plain hook                              ${fmt(baseline)}`);
  console.log(`  plain hook, ${hostileCallers} hostile scripts running   ${fmt(underAttack)}   (${stoppedScripts} hostile calls stopped, answered 400)`);
  console.log(`  hook with a script (isolate per call)   ${fmt(script)}`);
  console.log(`  ratio plain hook / Telex webhook: throughput ${(baseline.perSecond / core.perSecond).toFixed(2)}x`);
  console.log(`  ratio while hostile scripts run: throughput ${(underAttack.perSecond / baseline.perSecond).toFixed(2)}x, p50 +${(underAttack.p50 - baseline.p50).toFixed(1)} ms, p99 +${(underAttack.p99 - baseline.p99).toFixed(1)} ms`);
  console.log(`  ratio with a script per call:    throughput ${(script.perSecond / baseline.perSecond).toFixed(2)}x, p50 +${(script.p50 - baseline.p50).toFixed(1)} ms`);
} finally {
  await gateway.stop();
  await db.drop();
}
