/**
 * Interval integrations at scale: N interval integrations (default 10,000) switched on for channels,
 * all on one schedule (so one Agenda job), on one gateway or on several (BENCH_TICKS_REPLICAS: the
 * others in their own processes on the same database and job store). Prints, in one run:
 * - tick lateness (arrival at the integration's tick_url minus the slot time) p50/p99/max for the
 *   gateway's scheduler, against a baseline of N plain setTimeout timers firing the same POST through
 *   the same outbound client at the same kind of slot, and the ratio between them;
 * - ticks received per slot (each integration exactly once), and idempotency keys (webhook-id) received
 *   more than once;
 * - store operations (and SQL statements, for the embedded store) per idle minute, with the N jobs
 *   scheduled but none due;
 * - how long bringing the job store in line with the database at start took (app.start(): reconcile,
 *   from an empty tick table, then after every integration's crontab changed).
 * The gateway (the first replica) and the baseline's timers share this process; the integration that
 * receives the ticks runs in its own (bench/tick-receiver.ts), as integrations do.
 *
 * npm run bench:ticks
 * BENCH_TICKS_N=10000 BENCH_TICKS_SLOT_S=30 BENCH_TICKS_SLOTS=2 BENCH_TICKS_IDLE_S=30 BENCH_DB=sqlite|postgres BENCH_TICKS_REPLICAS=1|2 \
 *   AGENDA_BACKEND=embedded|redis|postgres AGENDA_PROCESS_EVERY_MS=5000 npm run bench:ticks
 */
import { randomBytes } from 'node:crypto';
import { buildApp, type App } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';
import { initOrm } from '../src/db/orm.js';
import { encryptSecret } from '../src/infra/crypto.js';
import { createHttpClient } from '../src/infra/http.js';
import { generateSigningSecret } from '../src/infra/webhook-signature.js';
import { Channel } from '../src/modules/channels/channel.entity.js';
import { ChannelIntegration } from '../src/modules/integrations/channel-integration.entity.js';
import { Integration } from '../src/modules/integrations/integration.entity.js';
import { Organisation } from '../src/modules/organisations/organisation.entity.js';
import { TICK_JOB } from '../src/modules/ticks/ticks.service.js';
import { ADMIN_TOKEN, benchDatabase, REDIS_URL } from './setup.js';
import { spawnGateway, spawnScript, type GatewayProcess } from './spawn.js';

const N = Number(process.env.BENCH_TICKS_N ?? 10_000);
const SLOT_S = Number(process.env.BENCH_TICKS_SLOT_S ?? 30);
const SLOTS = Number(process.env.BENCH_TICKS_SLOTS ?? 2);
const IDLE_S = Number(process.env.BENCH_TICKS_IDLE_S ?? 30);
const REPLICAS = Number(process.env.BENCH_TICKS_REPLICAS ?? 1);
const CHANNELS = Math.min(100, N);
const kind = (process.env.BENCH_DB ?? 'sqlite') as 'sqlite' | 'postgres';
const store = process.env.AGENDA_BACKEND ?? 'embedded';
const FAST = `*/${SLOT_S} * * * * *`;
const IDLE_CRON = '0 0 1 1 *'; // once a year: scheduled, never due during the bench

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const summary = (xs: number[]) => ({ p50: pct(xs, 50), p99: pct(xs, 99), max: pct(xs, 100) });
/** Arrivals in each second after the slot began (averaged over `slots`): where the tail of the lateness comes from. */
const perSecond = (xs: number[], slots = 1) => {
  const counts: number[] = [];
  for (const x of xs) {
    const s = Math.max(0, Math.floor(x / 1000));
    while (counts.length <= s) counts.push(0);
    counts[s]++;
  }
  return counts.map((c) => Math.round(c / slots)).join(' ');
};
const fmt = (s: { p50: number; p99: number; max: number }) => `p50 ${s.p50.toFixed(0).padStart(6)} ms  p99 ${s.p99.toFixed(0).padStart(6)} ms  max ${s.max.toFixed(0).padStart(6)} ms`;
const nextBoundary = (minAheadMs: number) => {
  const period = SLOT_S * 1000;
  return Math.ceil((Date.now() + minAheadMs) / period) * period;
};

// The integration (bench/tick-receiver.ts): its own process, as integrations are.
const receiver = await spawnScript('bench/tick-receiver.ts', {});
const tickUrl = `${receiver.url}/tick`;
async function received(): Promise<{ at: number[]; keys: (string | null)[] }> {
  return (await fetch(`${receiver.url}/arrivals`)).json() as Promise<{ at: number[]; keys: (string | null)[] }>;
}
const resetReceived = () => fetch(`${receiver.url}/reset`, { method: 'POST' });

const db = await benchDatabase(kind);
const env: Record<string, string> = {
  PORT: '0',
  HOST: '127.0.0.1',
  DATABASE_URL: db.url,
  SWITCHBOARD_DATA_DIR: db.dataDir,
  SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
  OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  AGENDA_BACKEND: store,
  AGENDA_NAMESPACE: `bench${randomBytes(3).toString('hex')}`,
  ...(process.env.AGENDA_PROCESS_EVERY_MS ? { AGENDA_PROCESS_EVERY_MS: process.env.AGENDA_PROCESS_EVERY_MS } : {}),
  ...(store === 'redis' ? { REDIS_URL: process.env.REDIS_URL ?? REDIS_URL } : {}),
};
const config: Config = loadConfig(env);
console.log(`bench:ticks  ${N} interval integrations on "${FAST}", ${SLOTS} slots; database ${kind}, job store ${store}, processEvery ${config.agendaProcessEveryMs} ms, ${REPLICAS} replica(s)`);

// --- Baseline: N plain timers at a slot, each POSTing the same body through the same outbound client.
let baseline: ReturnType<typeof summary>;
/** How many of the baseline's POSTs reached the receiver: at 50,000 most plain timers' calls time out in the agent's queue. */
let baselineArrived = 0;
{
  const http = createHttpClient(config.outbound);
  const body = { channel_id: '00000000-0000-4000-8000-000000000000', return_url: 'http://localhost/v1/return/x', settings: [{ label: 'interval', type: 'text', default: FAST }] };
  const slot = nextBoundary(2_000);
  await resetReceived();
  let done = 0;
  for (let i = 0; i < N; i++) setTimeout(() => void http.got.post(tickUrl, { json: body, throwHttpErrors: false }).catch(() => {}).finally(() => done++), slot - Date.now());
  const deadline = slot + SLOT_S * 1000;
  while (done < N && Date.now() < deadline) await sleep(50);
  const { at } = await received();
  baseline = summary(at.map((t) => t - slot));
  baselineArrived = at.length;
  console.log(`baseline setTimeout   ${fmt(baseline)}  (${at.length}/${N} arrived)`);
  console.log(`  arrivals per second  ${perSecond(at.map((t) => t - slot))}`);
  http.close();
}

// --- The gateway: seed N interval integrations, scheduled once a year (idle), then on the fast schedule.
async function seed(app: App) {
  const em = app.orm.em.fork();
  const org = em.create(Organisation, { name: 'bench' } as never);
  const channels = Array.from({ length: CHANNELS }, (_, i) => em.create(Channel, { organisation: org, name: `c${i}`, description: '' } as never));
  await em.flush();
  for (let start = 0; start < N; start += 1_000) {
    for (let i = start; i < Math.min(N, start + 1_000); i++) {
      const integration = em.create(Integration, {
        organisation: org,
        name: `tick ${i}`,
        jsonUrl: `${tickUrl}/spec/${i}`,
        spec: {},
        appName: `tick ${i}`,
        appDescription: '',
        integrationType: 'interval',
        tickUrl,
        keyFeatures: [],
        settingsSchema: [{ label: 'interval', type: 'text', required: true, default: IDLE_CRON }],
        // As every integration added through the API has one: its ticks are signed and carry their key (webhook-id).
        signingSecret: encryptSecret(config.secretKey, generateSigningSecret()),
      } as never);
      em.create(ChannelIntegration, { channel: channels[i % CHANNELS], integration, position: 0 } as never);
    }
    await em.flush();
    em.clear();
  }
}

const pairCount = async (app: App) => Number(((await app.orm.em.getConnection().execute('select count(*) as n from tick_pairs')) as { n: number | string }[])[0].n);
const jobCount = async (app: App) => (await app.deps.scheduler.agenda.queryJobs({ name: TICK_JOB })).total;

let app = await buildApp(config);
await seed(app);
let t = performance.now();
await app.start(); // reconciles: a tick row per (integration, channel), one job per schedule
const reconcileIdleMs = performance.now() - t;
console.log(`in line at start       ${await pairCount(app)} pairs, ${await jobCount(app)} job(s) in ${(reconcileIdleMs / 1000).toFixed(2)} s (from an empty tick table)`);

await sleep(2_000);
const calls0 = app.deps.scheduler.storeCalls();
const stmts0 = app.deps.scheduler.storeStatements();
await sleep(IDLE_S * 1000);
const idleCalls = ((app.deps.scheduler.storeCalls() - calls0) * 60) / IDLE_S;
const stmts1 = app.deps.scheduler.storeStatements();
const idleStatements = stmts0 === null || stmts1 === null ? null : ((stmts1 - stmts0) * 60) / IDLE_S;
console.log(`idle, ${N} pairs       ${idleCalls.toFixed(1)} store operations/min${idleStatements === null ? '' : `, ${idleStatements.toFixed(1)} SQL statements/min`}`);

// Switch every integration to the fast schedule: the spec default changes, the job store is emptied,
// and the next start brings both in line (every pair moves to the new crontab, its job is created).
await app.deps.scheduler.agenda.cancel({ name: TICK_JOB });
await app.stop();
{
  const orm = await initOrm(config.database);
  const em = orm.em.fork();
  const all = await em.find(Integration, {});
  for (const i of all) i.settingsSchema = [{ label: 'interval', type: 'text', required: true, default: FAST }];
  await em.flush();
  await orm.close(true);
}
app = await buildApp(config);
t = performance.now();
await app.start();
const reconcileMovedMs = performance.now() - t;
console.log(`in line at start       ${await pairCount(app)} pairs, ${await jobCount(app)} job(s) in ${(reconcileMovedMs / 1000).toFixed(2)} s (every crontab changed, job store emptied)`);
// The other replicas: their own processes on the same database and job store.
const others: GatewayProcess[] = [];
for (let i = 1; i < REPLICAS; i++) others.push(await spawnGateway({ ...env, PORT: '0' }, 120_000));

const first = nextBoundary(1_000);
await resetReceived();
await sleep(first + SLOTS * SLOT_S * 1000 - Date.now());
const period = SLOT_S * 1000;
const perSlot = new Map<number, number[]>();
const arrived = await received();
// The gateway's ticks only (they carry webhook-id); each key once per slot.
const keys = new Map<string, number>();
arrived.keys.forEach((key) => key && keys.set(key, (keys.get(key) ?? 0) + 1));
for (const [i, at] of arrived.at.entries()) {
  if (at < first || !arrived.keys[i]) continue;
  const slot = Math.floor(at / period) * period;
  perSlot.set(slot, [...(perSlot.get(slot) ?? []), at - slot]);
}
const lateness: number[] = [];
const counts: number[] = [];
for (let i = 0; i < SLOTS; i++) {
  const l = perSlot.get(first + i * period) ?? [];
  counts.push(l.length);
  lateness.push(...l);
}
const gateway = summary(lateness);
console.log(`gateway scheduler     ${fmt(gateway)}`);
console.log(`  arrivals per second  ${perSecond(lateness, SLOTS)} (average of the slots)`);
console.log(`ticks per slot         ${counts.join(', ')} (expected ${N} each); keys received more than once: ${[...keys.values()].filter((n) => n > 1).length}`);
if (baselineArrived < N) console.log(`ratio to baseline      none: only ${baselineArrived} of the baseline's ${N} POSTs arrived (the others failed before reaching it)`);
else console.log(`ratio to baseline      p50 ${(gateway.p50 / Math.max(1, baseline.p50)).toFixed(2)}x  p99 ${(gateway.p99 / Math.max(1, baseline.p99)).toFixed(2)}x`);

await Promise.all(others.map((g) => g.stop()));
await app.deps.scheduler.agenda.cancel({ name: TICK_JOB });
await app.stop();
await db.drop();
await receiver.stop();
