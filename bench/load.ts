import { readFileSync } from 'node:fs';
import http from 'node:http';
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

export function percentile(sorted: number[], p: number) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Closed-loop HTTP load: `concurrency` keep-alive connections each sending `request()` back to back
 * for `seconds`. Counts 2xx answers as ok.
 */
export async function runLoad(opts: {
  url: string;
  concurrency: number;
  seconds: number;
  request: (i: number) => { method: string; path: string; body?: string; headers?: Record<string, string> };
}): Promise<LoadResult> {
  const target = new URL(opts.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let ok = 0;
  let failed = 0;
  let n = 0;
  const deadline = performance.now() + opts.seconds * 1000;
  const started = performance.now();

  function one(): Promise<void> {
    const spec = opts.request(n++);
    const t0 = performance.now();
    return new Promise((resolve) => {
      const req = http.request(
        { host: target.hostname, port: target.port, method: spec.method, path: spec.path, agent, headers: { ...(spec.body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(spec.body) } : {}), ...spec.headers } },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - t0);
            statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
            if (res.statusCode! >= 200 && res.statusCode! < 300) ok++;
            else failed++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        failed++;
        resolve();
      });
      if (spec.body) req.write(spec.body);
      req.end();
    });
  }

  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (performance.now() < deadline) await one();
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { ok, failed, seconds, perSecond: ok / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), statuses };
}
