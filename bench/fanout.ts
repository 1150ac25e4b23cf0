/**
 * Fan-out: N graphql-ws subscribers (default 1,000, one socket each) on one channel of a gateway
 * process, against a raw `ws` server broadcasting the same bytes (a graphql-ws `next` frame of the same
 * shape and size) to the same number of plain sockets, as fast as a broadcast goes: each frame built once
 * as one Buffer and written to every socket corked (bench/fanout-baseline.ts). For each side, in the same run:
 * - latency: messages published at a steady rate; publish -> receive p50/p99 over every delivery;
 * - throughput: a burst published as fast as the publisher gets answers; delivered messages/s;
 * - lost: deliveries expected minus deliveries received.
 * Both sides' subscribers are read the same way, by one frame reader on their TCP streams (`readFrames`).
 * Each round also prints the CPU time the hypervisor stole from this machine while it was paced (Linux), which
 * stretches both sides' p99 on a shared virtual machine.
 *
 * npm run bench:fanout     (env: BENCH_SUBSCRIBERS, BENCH_BURST, BENCH_RATE, BENCH_DB=sqlite|postgres, BENCH_REDIS=1,
 *                          BENCH_GATEWAY_NODE_ARGS='--cpu-prof --cpu-prof-dir=prof' to profile the gateway)
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { percentile, stealMeter } from './load.js';
import { ADMIN_TOKEN, benchDatabase, REDIS_URL, seedChannel } from './setup.js';
import { spawnBuiltGateway, spawnScript } from './spawn.js';

const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 1_000);
const paced = Number(process.env.BENCH_PACED ?? 100);
const rate = Number(process.env.BENCH_RATE ?? 10);
const burst = Number(process.env.BENCH_BURST ?? 200);
const burstConcurrency = Number(process.env.BENCH_BURST_CONCURRENCY ?? 4);
const kind = (process.env.BENCH_DB ?? 'sqlite') as 'sqlite' | 'postgres';

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
function httpPost(url: string, body: string): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Side {
  name: string;
  /** Publish message `text`; resolves when the publisher got its answer. */
  publish(text: string): Promise<void>;
  sockets: WebSocket[];
}

const MESSAGE_FIELD = Buffer.from('"message":"');
const QUOTE = 0x22;

/**
 * Reads the server's frames off `ws`'s TCP stream from now on, in place of ws's receiver: text frames go to
 * `onText` (the payload is `bytes[start, end)`), pings are answered with a pong (graphql-ws's server pings
 * every 12 s), anything else is dropped. ws made the connection and still sends.
 *
 * Why not ws's receiver: one process here reads all 1,000 sockets of a side, on the same two cores as the
 * servers it measures, which each write 1,000 frames per message. Through ws (a Writable stream per socket,
 * UTF-8 validation, an event and a string per frame) it fell behind: the last subscriber of a message got
 * it a median 5 ms and up to 40 ms after the gateway had written its last frame, which made most of the
 * paced p99 of both sides. Reading frames here halves that lag (measured at 2–3 ms median).
 */
function readFrames(ws: WebSocket, onText: (bytes: Buffer, start: number, end: number) => void) {
  const tcp = (ws as unknown as { _socket: Duplex })._socket;
  tcp.removeAllListeners('data');
  let rest: Buffer | null = null;
  tcp.on('data', (chunk: Buffer) => {
    const bytes = rest ? Buffer.concat([rest, chunk]) : chunk;
    rest = null;
    let at = 0;
    while (bytes.length - at >= 2) {
      // A server's frames are unmasked (RFC 6455 section 5.2): opcode, 7-bit length, or 126/127 and a 16/64-bit one.
      const opcode = bytes[at] & 0x0f;
      let length = bytes[at + 1] & 0x7f;
      let header = 2;
      if (length === 126) {
        if (bytes.length - at < 4) break;
        length = bytes.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        if (bytes.length - at < 10) break;
        length = Number(bytes.readBigUInt64BE(at + 2));
        header = 10;
      }
      if (bytes.length - at < header + length) break;
      const start = at + header;
      if (opcode === 1) onText(bytes, start, start + length);
      else if (opcode === 9) ws.pong(bytes.subarray(start, start + length));
      at = start + length;
    }
    if (at < bytes.length) rest = bytes.subarray(at);
  });
}

/**
 * Receive bookkeeping shared by both sides: a frame's `message` field carries the message's label.
 * `sample` gets the first frame that carries one, whole.
 */
function track(sockets: WebSocket[], sample?: (frame: string) => void) {
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  let received = 0;
  let lastReceive = 0;
  const onText = (bytes: Buffer, start: number, end: number) => {
    const at = bytes.indexOf(MESSAGE_FIELD, start);
    if (at < 0 || at >= end) return;
    const from = at + MESSAGE_FIELD.length;
    const to = bytes.indexOf(QUOTE, from);
    if (to < 0 || to >= end) return;
    if (sample) {
      sample(bytes.toString('utf8', start, end));
      sample = undefined;
    }
    const t0 = sent.get(bytes.toString('latin1', from, to));
    if (t0 === undefined) return;
    const now = performance.now();
    latencies.push(now - t0);
    received++;
    lastReceive = now;
  };
  for (const ws of sockets) readFrames(ws, onText);
  return {
    sent,
    reset() {
      latencies.length = 0;
      received = 0;
    },
    get received() {
      return received;
    },
    get lastReceive() {
      return lastReceive;
    },
    latencies,
  };
}

async function until(check: () => boolean, timeoutMs: number) {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

async function measure(side: Side, tracker: ReturnType<typeof track>, label: string) {
  const n = side.sockets.length;
  // Latency at a steady rate.
  tracker.reset();
  const steal = stealMeter();
  const interval = 1000 / rate;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < paced; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const text = `${label}-paced-${i}`;
    tracker.sent.set(text, performance.now());
    pending.push(side.publish(text));
  }
  await Promise.all(pending);
  await until(() => tracker.received >= paced * n, 30_000);
  const lat = [...tracker.latencies].sort((a, b) => a - b);
  const pacedLost = paced * n - tracker.received;
  const pacedSteal = steal();

  // Throughput: a burst.
  tracker.reset();
  const burstStart = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: burstConcurrency }, async () => {
      while (next < burst) {
        const text = `${label}-burst-${next++}`;
        tracker.sent.set(text, performance.now());
        await side.publish(text);
      }
    }),
  );
  await until(() => tracker.received >= burst * n, 60_000);
  const elapsed = (tracker.lastReceive - burstStart) / 1000;
  const burstLost = burst * n - tracker.received;
  const burstLat = [...tracker.latencies].sort((a, b) => a - b);
  return {
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    perSecond: tracker.received / elapsed,
    burstP99: percentile(burstLat, 99),
    lost: pacedLost + burstLost,
    pacedSteal,
  };
}

/** Opens `subscribers` sockets, 50 at a time; each is ready once `onOpen` (if any) has settled. */
async function openSockets(url: string, protocol: string | undefined, onOpen?: (ws: WebSocket) => Promise<void>) {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < subscribers; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, subscribers - i) }, () => {
        const ws = new WebSocket(url, protocol);
        sockets.push(ws);
        return new Promise<void>((resolve, reject) => {
          ws.once('open', () => void (onOpen ? onOpen(ws).then(resolve, reject) : resolve()));
          ws.once('error', reject);
        });
      }),
    );
  }
  return sockets;
}

const db = await benchDatabase(kind);
const gateway = await spawnBuiltGateway({
  DATABASE_URL: db.url,
  SWITCHBOARD_DATA_DIR: db.dataDir,
  SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
  LOG_LEVEL: 'warn',
  ...(process.env.BENCH_REDIS ? { REDIS_URL } : {}),
}, 60_000, (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean));
const baseline = await spawnScript('bench/fanout-baseline.ts', {});
const { channelId } = await seedChannel(gateway.url);
const query = 'subscription($c: ID!) { channelMessages(channelId: $c) { id channelId eventName username status message createdAt } }';

// The gateway side: graphql-ws by hand (connection_init, subscribe), so both sides parse the same way. Each
// subscription has its own id, a UUID, as graphql-ws's client makes them: no two subscribers share a frame.
// A socket is read by `track` once its connection_ack has come and its subscribe has gone.
const gwSockets = await openSockets(`${gateway.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', (ws) => {
  ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
  return new Promise<void>((resolve) =>
    ws.once('message', () => {
      ws.send(JSON.stringify({ id: randomUUID(), type: 'subscribe', payload: { query, variables: { c: channelId } } }));
      resolve();
    }),
  );
});
// One subscriber's frame, as the template of the baseline's.
let sampleFrame = '';
const gwTracker = track(gwSockets, (frame) => (sampleFrame = frame));
const webhook = `${gateway.url}/v1/webhooks/${channelId}`;
const gatewaySide: Side = {
  name: 'gateway',
  sockets: gwSockets,
  async publish(text) {
    const status = await httpPost(webhook, JSON.stringify({ channel_id: channelId, webhook_slug: 'b', action_type: 'create', status_code: '200', event_name: 'bench', username: 'bench', status: 'success', message: text, user_id: 'u', org_id: 'o' }));
    if (status !== 202) throw new Error(`webhook answered ${status}`);
  },
};
// Every subscription is live once a probe reaches every socket.
let probes = 0;
gwTracker.sent.set('probe', performance.now());
const live = await until(() => {
  if (gwTracker.received >= subscribers) return true;
  if (probes++ % 50 === 0) void gatewaySide.publish('probe');
  return false;
}, 60_000);
if (!live) throw new Error(`only ${gwTracker.received} of ${subscribers} subscriptions became live`);
await new Promise((r) => setTimeout(r, 1_000));

// The baseline side: the same frame bytes, with the text swapped in.
const baseSockets = await openSockets(`${baseline.url.replace('http', 'ws')}/ws`, undefined);
const baseTracker = track(baseSockets);
const template = JSON.parse(sampleFrame) as { payload: { data: { channelMessages: Record<string, string> } } };
const baselineSide: Side = {
  name: 'baseline',
  sockets: baseSockets,
  async publish(text) {
    const frame = structuredClone(template);
    frame.payload.data.channelMessages.message = text;
    frame.payload.data.channelMessages.createdAt = new Date().toISOString();
    const status = await httpPost(`${baseline.url}/publish`, JSON.stringify(frame));
    if (status !== 202) throw new Error(`baseline answered ${status}`);
  },
};

const base = await measure(baselineSide, baseTracker, 'base');
const ours = await measure(gatewaySide, gwTracker, 'gw');
const base2 = await measure(baselineSide, baseTracker, 'base2');
const ours2 = await measure(gatewaySide, gwTracker, 'gw2');

const line = (name: string, r: Awaited<ReturnType<typeof measure>>) =>
  console.log(`  ${name.padEnd(34)} ${r.perSecond.toFixed(0).padStart(7)} deliveries/s   paced p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms   burst p99 ${r.burstP99.toFixed(0)} ms   lost ${r.lost}${r.pacedSteal === null ? '' : `   host steal while paced ${r.pacedSteal.toFixed(1)}%`}`);
console.log(`\nfan-out to ${subscribers} subscribers on ${kind}${process.env.BENCH_REDIS ? ' + Redis pubsub' : ' (in-process pubsub)'}: ${paced} messages at ${rate}/s, then a burst of ${burst}`);
console.log(`  frame: ${Buffer.byteLength(sampleFrame)} bytes`);
line('baseline (raw ws broadcast)', base);
line('gateway (webhook -> graphql-ws)', ours);
line('baseline (raw ws broadcast)', base2);
line('gateway (webhook -> graphql-ws)', ours2);
const ratio = (ours.perSecond + ours2.perSecond) / (base.perSecond + base2.perSecond);
console.log(`  ratio gateway/baseline: ${ratio.toFixed(2)}x (target >= 0.8x); gateway paced p99 ${Math.max(ours.p99, ours2.p99).toFixed(1)} ms (target < 50 ms); lost ${ours.lost + ours2.lost}`);

for (const s of [...gwSockets, ...baseSockets]) s.terminate();
agent.destroy();
await baseline.stop();
await gateway.stop();
await db.drop();
