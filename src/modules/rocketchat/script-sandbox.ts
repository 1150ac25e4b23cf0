/**
 * Rocket.Chat integration scripts (`class Script { process_incoming_request(...) ... }`) run in an
 * isolated-vm isolate: its own V8 heap (8 MB), no Node globals (no process, require, timers), a time limit
 * (3 s) for the whole call, sync part, returned promise and awaited HTTP calls alike. Values cross the
 * boundary as JSON copies only, so nothing the script builds (getters, prototypes, proxies) reaches the
 * gateway. Rocket.Chat's globals are there (script-globals.ts): `console`, `s`, `Store`, and, when the
 * caller offers HTTP (a ScriptHost), `serverFetch` / `fetch`.
 *
 * Each call gets a fresh isolate: a script that blew its heap or was killed mid-loop leaves nothing behind,
 * and one integration's script cannot see another's state. isolated-vm runs the script on its own thread,
 * so a looping script does not block the event loop that serves webhooks.
 */
import { availableParallelism } from 'node:os';
import ivm from 'isolated-vm';
import { FETCH, STORE, STRING_HELPERS } from './script-globals.js';

export const SCRIPT_MEMORY_MB = 8;
export const SCRIPT_TIMEOUT_MS = 3_000;
const MAX_LOG_LINES = 50;
const MAX_LOG_LINE = 1_000;
const MAX_RESULT_BYTES = 256 * 1024;
/** HTTP calls one script run may make, and the largest request body it may send. */
export const MAX_FETCHES_PER_RUN = 10;
const MAX_FETCH_BODY = 256 * 1024;

/** A request a script made with serverFetch / fetch, as the host receives it. */
export interface ScriptFetchRequest {
  url: string;
  method: string;
  headers: [string, string][];
  body: string | null;
}

/** The host's answer: the whole body as text (the host bounds its size). */
export interface ScriptFetchResponse {
  status: number;
  statusText: string;
  url: string;
  redirected: boolean;
  headers: [string, string][];
  body: string;
}

/**
 * What the gateway lends a script run: a key/value store (values are JSON text) and outbound HTTP.
 * `fetch` receives the run's abort signal (aborted when the run ends or times out) and the time left.
 */
export interface ScriptHost {
  store?: { get(key: string): string | undefined; set(key: string, json: string | null): void };
  fetch?: (request: ScriptFetchRequest, options: { signal: AbortSignal; timeoutMs: number }) => Promise<ScriptFetchResponse>;
}

export type ScriptMethod = 'process_incoming_request' | 'prepare_outgoing_request' | 'process_outgoing_response';

export interface SandboxLimits {
  memoryMb?: number;
  timeoutMs?: number;
}

export type ScriptErrorKind = 'syntax' | 'no_script_class' | 'timeout' | 'memory' | 'exception' | 'bad_result' | 'busy' | 'unavailable';

/** Where in the script an error is: 1-based line and column, as the compiler (or the stack) names them. */
export interface ScriptPosition {
  line: number;
  column: number;
}

export class ScriptError extends Error {
  constructor(
    readonly kind: ScriptErrorKind,
    message: string,
    readonly logs: string[] = [],
    /** For a syntax error, or an exception thrown by the script's own code: where; null otherwise. */
    readonly position: ScriptPosition | null = null,
  ) {
    super(message);
    this.name = 'ScriptError';
  }
}

const SCRIPT_FILENAME = 'integration-script.js';

/** The first `integration-script.js:LINE:COLUMN` of a compiler message (`[file:1:43]`) or a stack. */
function scriptPosition(text: string | undefined): ScriptPosition | null {
  const m = text && /integration-script[.]js:(\d+):(\d+)/.exec(text);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : null;
}

export interface ScriptRun {
  /** What the method returned, as a JSON copy (undefined when it returned nothing). */
  result: unknown;
  logs: string[];
  durationMs: number;
}

/** Rocket.Chat's sandbox helpers that need no I/O; `console.*` lines are captured for the history. */
const PRELUDE = `
'use strict';
const console = (() => {
  const out = (level) => (...args) => {
    // An Error would print as {} through JSON: show its stack (or name and message) instead.
    const line = args.map((a) => { try { return typeof a === 'string' ? a : a instanceof Error ? String(a.stack || a) : JSON.stringify(a); } catch (e) { return String(a); } }).join(' ');
    __log.applyIgnored(undefined, [level + ': ' + line]);
  };
  return Object.freeze({ log: out('log'), info: out('info'), warn: out('warn'), error: out('error'), debug: out('debug') });
})();
globalThis.console = console;
${STRING_HELPERS}
${STORE}
${FETCH}
delete globalThis.__store;
delete globalThis.__fetch;
`;

/**
 * Scripts run on isolated-vm's threads, off the event loop, but they still need CPU: at most one fewer
 * at once than the machine has cores, so a burst of looping scripts leaves a core for the event loop
 * (webhooks, GraphQL). Beyond that they queue; a full queue refuses at once. The count is the
 * process's, not an app's: the cores it guards are shared by every app in the process.
 */
const MAX_RUNNING = Math.max(1, availableParallelism() - 1);
const MAX_WAITING = 256;
let running = 0;
const waiting: (() => void)[] = [];

async function slot(logs: string[]): Promise<() => void> {
  if (running >= MAX_RUNNING) {
    if (waiting.length >= MAX_WAITING) throw new ScriptError('busy', 'too many integration scripts are waiting to run; try again later', logs);
    await new Promise<void>((resolve) => waiting.push(resolve));
  } else {
    running++;
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const next = waiting.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else running--;
  };
}

/**
 * isolated-vm on Node 20 can crash the whole process unless Node runs with --no-node-snapshot (npm start,
 * npm test and the Dockerfile pass it). Without the flag scripts are refused rather than risked.
 */
export function sandboxAvailable(): boolean {
  const flag = '--no-node-snapshot';
  return process.execArgv.includes(flag) || (process.env.NODE_OPTIONS ?? '').split(/\s+/).includes(flag);
}

/** The `__fetch` reference: checks what the script asked for, then hands it to the host within the run's budget. */
function fetchBridge(host: NonNullable<ScriptHost['fetch']>, signal: AbortSignal, deadline: () => number) {
  let calls = 0;
  const call = async (requestJson: string) => {
    if (++calls > MAX_FETCHES_PER_RUN) throw new Error(`a script run may make at most ${MAX_FETCHES_PER_RUN} HTTP calls`);
    let request: ScriptFetchRequest;
    try {
      const r = JSON.parse(String(requestJson)) as Partial<ScriptFetchRequest>;
      request = {
        url: String(r.url),
        method: String(r.method),
        headers: Array.isArray(r.headers) ? r.headers.map((p) => [String(p[0]), String(p[1])] as [string, string]) : [],
        body: typeof r.body === 'string' ? r.body : null,
      };
    } catch {
      throw new TypeError('fetch: the request could not be read');
    }
    if (request.body && request.body.length > MAX_FETCH_BODY) throw new TypeError(`fetch: the request body is larger than ${MAX_FETCH_BODY} bytes`);
    const left = deadline() - Date.now();
    if (left <= 0 || signal.aborted) throw new Error('fetch: no time left in the script\'s budget');
    // The run's own deadline stops the script (and aborts this call) first, so a slow server shows as the
    // script's time limit; the request's time-out, a little later, is only a backstop.
    return JSON.stringify(await host(request, { signal, timeoutMs: left + 250 }));
  };
  return new ivm.Reference((requestJson: string) => {
    const answer = call(requestJson);
    // isolated-vm takes the rejection to the script a moment later; Node must not call it unhandled meanwhile.
    answer.catch(() => undefined);
    return answer;
  });
}

async function withIsolate<T>(
  limits: SandboxLimits,
  logs: string[],
  work: (context: ivm.Context, isolate: ivm.Isolate) => Promise<T>,
  host: ScriptHost = {},
): Promise<T> {
  const memoryMb = limits.memoryMb ?? SCRIPT_MEMORY_MB;
  const timeoutMs = limits.timeoutMs ?? SCRIPT_TIMEOUT_MS;
  if (!sandboxAvailable()) throw new ScriptError('unavailable', 'integration scripts are disabled: the gateway must run with node --no-node-snapshot', logs);
  const release = await slot(logs);
  let isolate: ivm.Isolate;
  try {
    isolate = new ivm.Isolate({ memoryLimit: memoryMb });
  } catch (error) {
    release();
    throw error;
  }
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  // Ends the run's HTTP calls when it finishes or is stopped: nothing it started outlives it.
  const running = new AbortController();
  const deadlineAt = Date.now() + timeoutMs;
  try {
    const context = await isolate.createContext();
    const log = new ivm.Reference((line: string) => {
      if (logs.length < MAX_LOG_LINES) logs.push(String(line).slice(0, MAX_LOG_LINE));
    });
    await context.global.set('__log', log);
    if (host.store) {
      const store = host.store;
      await context.global.set(
        '__store',
        new ivm.Reference((op: string, key: string, json?: string | null) => (op === 'set' ? void store.set(String(key), json ?? null) : store.get(String(key)))),
      );
    }
    if (host.fetch) await context.global.set('__fetch', fetchBridge(host.fetch, running.signal, () => deadlineAt));
    await context.eval(PRELUDE);
    // The wall-clock limit covers awaited promises too (a script's own timeout only bounds sync code).
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new ScriptError('timeout', `script exceeded the ${timeoutMs} ms time limit`, logs));
        if (!isolate.isDisposed) isolate.dispose();
      }, timeoutMs);
    });
    return await Promise.race([work(context, isolate), deadline]);
  } catch (error) {
    throw classify(error, isolate, timedOut, { memoryMb, timeoutMs }, logs);
  } finally {
    clearTimeout(timer);
    running.abort();
    if (!isolate.isDisposed) isolate.dispose();
    release();
  }
}

function classify(error: unknown, isolate: ivm.Isolate, timedOut: boolean, limits: { memoryMb: number; timeoutMs: number }, logs: string[]): ScriptError {
  if (error instanceof ScriptError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/memory limit/i.test(message) || (isolate.isDisposed && !timedOut && /disposed/i.test(message))) {
    return new ScriptError('memory', `script exceeded the ${limits.memoryMb} MB memory limit`, logs);
  }
  if (timedOut || /timed out/i.test(message)) return new ScriptError('timeout', `script exceeded the ${limits.timeoutMs} ms time limit`, logs);
  if (error instanceof SyntaxError || (error instanceof Error && error.name === 'SyntaxError')) return new ScriptError('syntax', `SyntaxError: ${message}`, logs, scriptPosition(message));
  const name = error instanceof Error && error.name && error.name !== 'Error' ? `${error.name}: ` : '';
  return new ScriptError('exception', `${name}${message}`.slice(0, 2_000), logs, scriptPosition(error instanceof Error ? error.stack : undefined));
}

/**
 * Refuse a script that cannot work: a syntax error, or no `class Script` once its top level has run.
 * The top level runs under the same limits, so a script that loops at load time is refused too.
 */
export async function checkScript(source: string, limits: SandboxLimits = {}): Promise<void> {
  const logs: string[] = [];
  await withIsolate(limits, logs, async (context, isolate) => {
    const script = await isolate.compileScript(source, { filename: SCRIPT_FILENAME });
    await script.run(context, { timeout: limits.timeoutMs ?? SCRIPT_TIMEOUT_MS });
    const kind = await context.eval(`typeof Script === 'function' && typeof Script.prototype === 'object' ? 'ok' : typeof Script`, { timeout: 100 }).catch(() => 'undefined');
    if (kind !== 'ok') throw new ScriptError('no_script_class', 'script must declare `class Script` with the methods it implements', logs);
  });
}

/**
 * Run `new Script()[method](input)` and return a JSON copy of its (awaited) result. A script that does
 * not implement the method yields `{implemented: false}` so the caller applies Rocket.Chat's default.
 */
export async function runScript(
  source: string,
  method: ScriptMethod,
  input: unknown,
  limits: SandboxLimits = {},
  host: ScriptHost = {},
): Promise<ScriptRun & { implemented: boolean }> {
  const logs: string[] = [];
  const started = performance.now();
  const timeoutMs = limits.timeoutMs ?? SCRIPT_TIMEOUT_MS;
  const out = await withIsolate(limits, logs, async (context, isolate) => {
    const script = await isolate.compileScript(source, { filename: SCRIPT_FILENAME });
    await script.run(context, { timeout: timeoutMs });
    await context.global.set('__input', JSON.stringify(input ?? null));
    const call = `
      (() => {
        if (typeof Script !== 'function') throw new Error('script does not declare class Script');
        const instance = new Script();
        if (typeof instance[${JSON.stringify(method)}] !== 'function') return '{"implemented":false}';
        const value = instance[${JSON.stringify(method)}](JSON.parse(__input));
        return Promise.resolve(value).then((v) => '{"implemented":true,"result":' + (v === undefined ? 'null,"undefined":true' : JSON.stringify(v) ?? 'null') + '}');
      })()`;
    const text = (await context.eval(call, { timeout: timeoutMs, promise: true, copy: true })) as unknown;
    if (typeof text !== 'string') throw new ScriptError('bad_result', 'script result could not be copied out of the sandbox', logs);
    if (text.length > MAX_RESULT_BYTES) throw new ScriptError('bad_result', `script result is larger than ${MAX_RESULT_BYTES} bytes`, logs);
    try {
      const parsed = JSON.parse(text) as { implemented?: unknown; result?: unknown; undefined?: unknown };
      return { implemented: parsed.implemented === true, result: parsed.result, undefined: parsed.undefined === true };
    } catch {
      throw new ScriptError('bad_result', 'script result is not JSON-serialisable', logs);
    }
  }, host);
  return {
    implemented: out.implemented,
    result: out.undefined ? undefined : out.result,
    logs,
    durationMs: Math.round(performance.now() - started),
  };
}

/** A plain record from a script's answer, or null: only own enumerable data, no prototype tricks. */
export function plainObject(value: unknown): Record<string, unknown> | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const out: Record<string, unknown> = Object.create(null);
  for (const [key, v] of Object.entries(value)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    out[key] = v;
  }
  return out;
}
