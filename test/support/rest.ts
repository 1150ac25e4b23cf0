/** Plain HTTP calls to the REST doors, as a Telex client makes them. */
import type { TestApp } from './app.js';

export interface RestAnswer<D = any> {
  status: number;
  body: { status: string; status_code: number; message: string; data?: D; errors?: { field: string; message: string }[] };
}

/**
 * Send `body` as JSON (a string is sent as-is, to test malformed JSON) with the admin's token unless
 * `token` is given (null: no Authorization header).
 */
export async function rest<D = any>(t: TestApp, method: string, path: string, body?: unknown, token: string | null = t.token): Promise<RestAnswer<D>> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${t.url}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: RestAnswer['body'];
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, body: parsed };
}
