/** One outbound JSON call, timed and described: the part of a delivery that talks to the network. */
import { performance } from 'node:perf_hooks';
import type { Deps } from '../../context.js';
import { describe as describeOutbound } from '../../infra/http.js';

export interface AttemptOutcome {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  /** Why the call failed, as a bounded label (null when it succeeded). */
  failure: 'timeout' | 'blocked' | 'unreachable' | 'status' | 'unreadable' | null;
  /** The answer's body as text. */
  body: string;
  /** The answer parsed as JSON, when it is JSON. */
  json?: unknown;
  ok: boolean;
}

/** One JSON call through the guarded client; never throws. */
export async function sendOnce(
  deps: Pick<Deps, 'http'>,
  input: { url: string; body?: unknown; headers?: Record<string, string> | null; method?: string; timeoutMs?: number },
): Promise<AttemptOutcome> {
  const started = performance.now();
  try {
    const res = await deps.http.got(input.url, {
      method: (input.method ?? 'POST') as 'POST',
      ...(input.body === undefined || input.body === null ? {} : { json: input.body }),
      headers: input.headers ?? undefined,
      ...(input.timeoutMs ? { timeout: { request: input.timeoutMs } } : {}),
      responseType: 'text',
    });
    const latencyMs = performance.now() - started;
    const body = res.body;
    let json: unknown;
    if (body) {
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
    }
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    return { statusCode: res.statusCode, latencyMs, error: ok ? null : `HTTP ${res.statusCode}`, failure: ok ? null : 'status', body, json, ok };
  } catch (error) {
    const described = describeOutbound(error);
    const failure = described.kind === 'timeout' || described.kind === 'blocked' ? described.kind : described.kind === 'status' ? 'status' : 'unreachable';
    return { statusCode: null, latencyMs: performance.now() - started, error: described.message, failure, body: '', ok: false };
  }
}
