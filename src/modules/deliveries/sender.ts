/** One outbound JSON call, timed and described: the part of a delivery that talks to the network. */
import type { ClientRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { CancelableRequest, OptionsInit, Response } from 'got';
import type { Deps } from '../../context.js';
import { describe as describeOutbound } from '../../infra/http.js';
import { signatureHeaders, type Signing } from '../../infra/webhook-signature.js';

export type { Signing } from '../../infra/webhook-signature.js';

export interface AttemptOutcome {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  /** Why the call failed, as a bounded label (null when it succeeded). */
  failure: 'timeout' | 'blocked' | 'unreachable' | 'status' | 'unreadable' | 'disabled' | null;
  /** The answer's body as text. */
  body: string;
  /** The answer parsed as JSON, when it is JSON. */
  json?: unknown;
  ok: boolean;
  /** A 429 or 503 with a valid Retry-After: how long the receiver asks us to wait, ms (0 for a date already past). */
  retryAfterMs?: number | null;
}

/**
 * Retry-After as RFC 9110 writes it: delay-seconds (a non-negative integer) or an HTTP-date. Anything else is no
 * answer (the schedule applies). Only 429 and 503 carry it as a request to wait.
 */
export function retryAfterMs(statusCode: number, header: string | string[] | undefined, now = Date.now()): number | null {
  if (statusCode !== 429 && statusCode !== 503) return null;
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value) * 1_000;
  const date = Date.parse(value);
  if (Number.isNaN(date) || !/[a-z]/i.test(value)) return null;
  return Math.max(0, date - now);
}

export interface SendInput {
  url: string;
  body?: unknown;
  headers?: Record<string, string> | null;
  method?: string;
  timeoutMs?: number;
  /** Sign the call (Standard Webhooks headers over the exact body bytes, timestamped now): every attempt is signed afresh. */
  signing?: Signing | null;
}

/**
 * The call on a kept-alive socket, sent once more on a new one when the server reset that socket before any answer:
 * a server closes an idle kept-alive socket when it likes, and a call written as it does is lost in flight
 * (Node's documentation gives the same remedy: `request.reusedSocket` and ECONNRESET). Safe for a POST: the
 * server read none of it, or at worst dropped it before answering, and a signed call carries its `webhook-id`
 * for receivers to drop a repeat. A reset on a new socket is the server's answer and is not sent again.
 */
async function call(deps: Pick<Deps, 'http'>, url: string, options: OptionsInit, budgetMs: number | undefined): Promise<Response<string>> {
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    let reused = false;
    // The repeat gets what is left of the call's time, so a call never takes longer than its timeout.
    const timeout = attempt > 1 && budgetMs ? { timeout: { request: Math.max(1, budgetMs - (performance.now() - started)) } } : {};
    const pending = deps.http.got(url, { ...options, ...timeout, responseType: 'text' }) as unknown as CancelableRequest<Response<string>>;
    pending.on('request', (request: ClientRequest) => {
      reused = request.reusedSocket;
    });
    try {
      return await pending;
    } catch (error) {
      if (attempt === 1 && reused && (error as { code?: string }).code === 'ECONNRESET') continue;
      throw error;
    }
  }
}

/** One JSON call through the guarded client; never throws. The one place outbound calls are signed. */
export async function sendOnce(deps: Pick<Deps, 'http'>, input: SendInput): Promise<AttemptOutcome> {
  const started = performance.now();
  const payload = input.body === undefined || input.body === null ? undefined : JSON.stringify(input.body);
  const signed = input.signing?.keys.length ? signatureHeaders(input.signing, payload ?? '') : {};
  try {
    const res = await call(deps, input.url, {
      method: (input.method ?? 'POST') as 'POST',
      ...(payload === undefined ? {} : { body: payload }),
      headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...input.headers, ...signed },
      ...(input.timeoutMs ? { timeout: { request: input.timeoutMs } } : {}),
      // A 3xx is the receiver's answer, and a failure (Standard Webhooks): a call is never sent on elsewhere.
      followRedirect: false,
    }, input.timeoutMs ?? deps.http.got.defaults.options.timeout.request);
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
    const redirect = res.statusCode >= 300 && res.statusCode < 400;
    const error = ok ? null : redirect ? `HTTP ${res.statusCode} (a redirect: not followed, so the call failed)` : `HTTP ${res.statusCode}`;
    return { statusCode: res.statusCode, latencyMs, error, failure: ok ? null : 'status', body, json, ok, retryAfterMs: retryAfterMs(res.statusCode, res.headers['retry-after']) };
  } catch (error) {
    const described = describeOutbound(error);
    const failure = described.kind === 'timeout' || described.kind === 'blocked' ? described.kind : described.kind === 'status' ? 'status' : 'unreachable';
    return { statusCode: null, latencyMs: performance.now() - started, error: described.message, failure, body: '', ok: false };
  }
}
