/**
 * Helpers for the operational tests: a gateway whose log lines are captured, a Prometheus text parser,
 * and the real gateway process (src/main.ts) spawned as a child, as an operator runs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { buildApp, type BuildOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { untilReady } from '../../bench/spawn.js';
import { ADMIN_TOKEN, remoteGateway, type TestApp } from './app.js';

export { remoteGateway };
import { freshDatabase, type DbKind } from './services.js';

/** Every log line the app wrote, as text and parsed. */
export class LogCapture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, callback: () => void) {
    this.text += chunk.toString('utf8');
    callback();
  }
  get lines(): Record<string, unknown>[] {
    return this.text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export interface OpsApp extends TestApp {
  logs: LogCapture;
  databaseUrl: string;
}

/** A gateway on a loopback port with a fresh database, logging JSON at `level` into `logs`. */
export async function startOpsApp(
  db: DbKind,
  options: { env?: Record<string, string>; level?: string; build?: BuildOptions; databaseUrl?: string } = {},
): Promise<OpsApp> {
  const database = options.databaseUrl ? { url: options.databaseUrl, drop: async () => {} } : await freshDatabase(db);
  const logs = new LogCapture();
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    SWITCHBOARD_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'sb-data-')),
    SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
    OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8,::1',
    LOG_LEVEL: options.level ?? 'info',
    ...options.env,
  });
  const app = await buildApp(config, { logDestination: logs, ...options.build });
  const url = await app.start();
  config.publicUrl = url;
  return {
    ...remoteGateway(url),
    app,
    logs,
    databaseUrl: database.url,
    async close() {
      await app.stop();
      await database.drop();
    },
  };
}


export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parse Prometheus' text exposition format (enough of it for counters, gauges and histograms). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`not a metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** Scrape /metrics and return a reader: the sum of a metric's samples whose labels include `labels`. */
export async function scrape(url: string) {
  const res = await fetch(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const samples = parseMetrics(await res.text());
  return (name: string, labels: Record<string, string> = {}) =>
    samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
}

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  stdout(): string;
  /** Resolves with the exit code (or the signal's name) and how long after `since` it came. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  kill(): void;
}

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/** Run `node src/main.ts` as an operator would (PORT 0 is not printable: pass a free port). */
export async function spawnGateway(env: Record<string, string>, port: number): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--no-node-snapshot', '--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const url = `http://127.0.0.1:${port}`;
  await untilReady(child, url, 30_000, () => out);
  return { child, url, stdout: () => out, exited, kill: () => child.exitCode === null && child.kill('SIGKILL') };
}

/** A TCP port nothing listens on right now. */
export { freePort } from '../../bench/spawn.js';
