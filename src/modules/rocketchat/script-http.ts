/**
 * The HTTP a script asks for with serverFetch / fetch, made by the gateway's one outbound client
 * (deps.http: SSRF guard on every hop, keep-alive), within what is left of the script's time budget,
 * and written down for the integration's history.
 */
import { CancelError } from 'got';
import type { Deps } from '../../context.js';
import { describe } from '../../infra/http.js';
import type { ScriptFetchRequest, ScriptFetchResponse, ScriptHost } from './script-sandbox.js';

/** The largest answer a script receives: it is copied into an 8 MB heap. */
export const MAX_SCRIPT_RESPONSE_BYTES = 512 * 1024;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const HOP_HEADERS = /^(host|content-length|connection|transfer-encoding|keep-alive|upgrade|te|trailer|proxy-.*)$/i;
const SECRET_PARAM = /token|key|secret|pass|auth|sig|session|code|credential/i;

/** One HTTP call of a script, as the history shows it. */
export interface ScriptHttpCall {
  method: string;
  url: string;
  status: number | null;
  ms: number;
  error?: string;
}

/** The URL for the history: credentials dropped and secret-looking query values masked (the script holds them, the history need not). */
export function historyUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    for (const key of [...u.searchParams.keys()]) if (SECRET_PARAM.test(key)) u.searchParams.set(key, '***');
    return u.toString();
  } catch {
    return url.slice(0, 200);
  }
}

/** The `fetch` a script run gets; each call is appended to `calls`. */
export function scriptFetch(deps: Deps, calls: ScriptHttpCall[]): NonNullable<ScriptHost['fetch']> {
  return async (request: ScriptFetchRequest, { signal, timeoutMs }): Promise<ScriptFetchResponse> => {
    const started = performance.now();
    const call: ScriptHttpCall = { method: request.method, url: historyUrl(request.url), status: null, ms: 0 };
    calls.push(call);
    const fail = (error: Error) => {
      call.error = error.message;
      call.ms = Math.round(performance.now() - started);
      return error;
    };
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      throw fail(new TypeError(`fetch: "${request.url.slice(0, 200)}" is not a valid URL`));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail(new TypeError(`fetch: only http and https URLs can be fetched, not ${url.protocol}`));
    if (!METHODS.includes(request.method)) throw fail(new TypeError(`fetch: unsupported method "${request.method.slice(0, 20)}"`));
    const headers: Record<string, string> = {};
    for (const [name, value] of request.headers) if (/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name) && !HOP_HEADERS.test(name)) headers[name.toLowerCase()] = value;

    const pending = deps.http.got(url, {
      method: request.method as 'GET',
      headers,
      body: request.body ?? undefined,
      timeout: { request: Math.max(1, Math.floor(timeoutMs)) },
      signal,
      responseType: 'buffer',
    });
    let tooLarge = false;
    pending.on('downloadProgress', (progress: { transferred: number; total?: number }) => {
      if (progress.transferred > MAX_SCRIPT_RESPONSE_BYTES || (progress.total ?? 0) > MAX_SCRIPT_RESPONSE_BYTES) {
        tooLarge = true;
        pending.cancel();
      }
    });
    let response;
    try {
      response = await pending;
    } catch (error) {
      if (tooLarge || error instanceof CancelError) throw fail(new Error(`fetch: the response is larger than ${MAX_SCRIPT_RESPONSE_BYTES} bytes`));
      if (signal.aborted) throw fail(new Error('fetch: the script run ended before the answer came'));
      throw fail(new Error(`fetch: ${describe(error).message}`));
    }
    call.status = response.statusCode;
    call.ms = Math.round(performance.now() - started);
    const answerHeaders: [string, string][] = [];
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) answerHeaders.push([name, String(v)]);
    }
    return {
      status: response.statusCode,
      statusText: response.statusMessage ?? '',
      url: response.url,
      redirected: response.redirectUrls.length > 0,
      headers: answerHeaders,
      body: (response.body as Buffer).toString('utf8'),
    };
  };
}
