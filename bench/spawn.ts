import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface GatewayProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Start bench/gateway.ts in its own Node process with this environment; resolves once it listens.
 * `node --import tsx` rather than `npx tsx`: signals reach the gateway itself, not a wrapper process.
 */
export function spawnGateway(env: Record<string, string>, timeoutMs = 60_000, nodeArgs: string[] = []): Promise<GatewayProcess> {
  return spawnScript('bench/gateway.ts', env, timeoutMs, nodeArgs);
}

/**
 * The gateway as `npm start` runs it, the benchmarks' subject: the build (dist/main.cjs through scripts/start.mjs,
 * rebuilt first when a source changed), not the TypeScript sources through a run-time transform, whose wrappers
 * (kept function names, module loader hooks) the build has none of: on the ingest path, one profiled run each
 * spent 305 µs of CPU a request from source and 291 µs from the build.
 * It listens on a free port and resolves once /readyz answers 200. BENCH_GATEWAY_FROM=source runs
 * bench/gateway.ts instead.
 */
export async function spawnBuiltGateway(env: Record<string, string>, timeoutMs = 60_000, nodeArgs: string[] = []): Promise<GatewayProcess> {
  if (process.env.BENCH_GATEWAY_FROM === 'source') return spawnGateway(env, timeoutMs, nodeArgs);
  const port = await freePort();
  const child = spawn(process.execPath, ['--no-node-snapshot', ...nodeArgs, path.join(root, 'scripts', 'start.mjs')], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...UNLIMITED, ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A benchmark that dies leaves no gateway behind.
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const url = `http://127.0.0.1:${port}`;
  await untilReady(child, url, timeoutMs, () => stderr);
  return {
    url,
    child,
    async stop() {
      process.off('exit', kill);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const force = setTimeout(kill, 10_000);
      await exited;
      clearTimeout(force);
    },
  };
}

/**
 * Wait until a gateway process answers 200 on /readyz (polled every 100 ms). Throws, with what it printed (`output`),
 * when it exits first or is not ready within `timeoutMs`, then killed.
 */
export async function untilReady(child: ChildProcess, url: string, timeoutMs: number, output: () => string): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${output()}`);
    if (await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false)) return;
    if (Date.now() - started > timeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`gateway did not become ready in ${timeoutMs} ms:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Benchmarks measure throughput, not the rate limits (README "Rate limits"): their floods from one address into one
 * channel would be refused. A caller's env may set any of them back.
 */
const UNLIMITED = {
  RATE_LIMIT_ADDRESS: 'off',
  RATE_LIMIT_TOKEN: 'off',
  RATE_LIMIT_CHANNEL: 'off',
  RATE_LIMIT_CHANNEL_BYTES: 'off',
  RATE_LIMIT_SOCKETS_PER_ADDRESS: '0',
  RATE_LIMIT_SOCKETS_PER_TOKEN: '0',
};

/** Start a TypeScript script that prints one JSON line with its `url` once it listens. */
export function spawnScript(script: string, env: Record<string, string>, timeoutMs = 60_000, nodeArgs: string[] = []): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(root, script)], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...UNLIMITED, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start in ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}: ${stderr}`));
    });
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      clearTimeout(timer);
      const { url } = JSON.parse(line) as { url: string };
      resolve({
        url,
        child,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGTERM');
            const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exited;
            clearTimeout(force);
          }
        },
      });
    });
  });
}
