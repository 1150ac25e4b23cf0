import { readFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LoadResult {
  ok: number;
  failed: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  statuses: Record<number, number>;
}

/**
 * CPU time a process (all its threads) has used so far, in ms, from Linux's /proc (null elsewhere). Per request,
 * it tells a change in the server's own work from a change in what the load generator and the rest of the shared
 * machine left it (both move throughput; on a shared machine CPU time still varies with the cores' speed).
 */
export function processCpuMs(pid: number | undefined): number | null {
  try {
    // Fields after the command name (which may hold spaces) start at the state, field 3: utime and stime are 14 and 15.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
/** USER_HZ: Linux reports process times in hundredths of a second on every architecture it runs on. */
const CLOCK_TICKS = 100;

/** The machine's CPU times so far (Linux /proc/stat's `cpu` line, in ticks): all of them, and those stolen. */
function cpuTicks(): { total: number; steal: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7]! };
  } catch {
    return null;
  }
}

/**
 * The share of CPU time the hypervisor gave to other machines (steal) from now until the returned function is
 * called, in percent (null off Linux). On a shared virtual machine it is time in which a ready process of ours
 * could not run: it lengthens latency tails for the baseline and the system under test alike.
 */
export function stealMeter(): () => number | null {
  const start = cpuTicks();
  return () => {
    const end = cpuTicks();
    if (!start || !end || end.total === start.total) return null;
    return (100 * (end.steal - start.steal)) / (end.total - start.total);
  };
}

export function percentile(sorted: number[], p: number) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * One HTTP/1.1 answer at the start of `buffer`: its status and its length in bytes (head and body), or null while
 * it is incomplete. Bodies are delimited by Content-Length or chunked (with no trailers), as both servers send them.
 */
function answerAt(buffer: Buffer): { status: number; length: number } | null {
  const headEnd = buffer.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const head = buffer.toString('latin1', 0, headEnd).toLowerCase();
  const status = Number(head.slice(9, 12));
  const bodyStart = headEnd + 4;
  const declared = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (declared) {
    const end = bodyStart + Number(declared[1]);
    return buffer.length >= end ? { status, length: end } : null;
  }
  if (!/\r\ntransfer-encoding:\s*chunked/.test(head)) return { status, length: bodyStart };
  let at = bodyStart;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at);
    if (lineEnd < 0) return null;
    const size = parseInt(buffer.toString('latin1', at, lineEnd), 16);
    at = lineEnd + 2 + size + 2;
    if (buffer.length < at) return null;
    if (size === 0) return { status, length: at };
  }
}

/**
 * Closed-loop HTTP load: `concurrency` keep-alive connections each sending `request()` back to back
 * for `seconds`. Counts 2xx answers as ok.
 *
 * Requests are written as text on plain sockets and answers read only as far as their status and length. The
 * load generator shares the machine's cores with the servers it measures, so it must cost them little:
 * node:http's client took 150-200 µs of CPU a request here, as much as the gateway itself, and this one 40-60.
 */
export async function runLoad(opts: {
  url: string;
  concurrency: number;
  seconds: number;
  request: (i: number) => { method: string; path: string; body?: string; headers?: Record<string, string> };
}): Promise<LoadResult> {
  const target = new URL(opts.url);
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let ok = 0;
  let failed = 0;
  let n = 0;
  const started = performance.now();
  const deadline = started + opts.seconds * 1000;
  const requestText = (i: number) => {
    const spec = opts.request(i);
    let head = `${spec.method} ${spec.path} HTTP/1.1\r\nhost: ${target.host}\r\n`;
    if (spec.body !== undefined) head += `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(spec.body)}\r\n`;
    for (const name in spec.headers) head += `${name}: ${spec.headers[name]}\r\n`;
    return `${head}\r\n${spec.body ?? ''}`;
  };

  /** One connection's requests until the deadline; a connection lost is counted as a failed request and opened again. */
  const connection = () =>
    new Promise<void>((resolve) => {
      let received: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      let waiting = false;
      const socket = net.connect(Number(target.port), target.hostname);
      socket.setNoDelay(true);
      const next = () => {
        if (performance.now() >= deadline) return void socket.end();
        sentAt = performance.now();
        waiting = true;
        socket.write(requestText(n++));
      };
      socket.on('connect', next);
      socket.on('data', (chunk: Buffer) => {
        received = received.length ? Buffer.concat([received, chunk]) : chunk;
        const answer = answerAt(received);
        if (!answer) return;
        received = received.subarray(answer.length);
        waiting = false;
        latencies.push(performance.now() - sentAt);
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        if (answer.status >= 200 && answer.status < 300) ok++;
        else failed++;
        next();
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        if (waiting) failed++;
        if (performance.now() >= deadline) return resolve();
        // Not at once: a server that refuses connections would otherwise be asked in a tight loop.
        setTimeout(() => void connection().then(resolve), 10);
      });
    });

  await Promise.all(Array.from({ length: opts.concurrency }, connection));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { ok, failed, seconds, perSecond: ok / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), statuses };
}
