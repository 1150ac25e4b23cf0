import got, { type Got, RequestError } from 'got';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import type { Config } from '../config.js';

/** Why an outbound fetch failed, in words a user can act on. */
export class OutboundError extends Error {
  constructor(
    readonly kind: 'blocked' | 'unreachable' | 'timeout' | 'status' | 'too_large' | 'not_json',
    message: string,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

export interface HttpClient {
  /** The one got instance every outbound call goes through (SSRF guard, timeouts, keep-alive). */
  got: Got;
  /** GET a JSON document of at most `maxBytes`, with errors that say what went wrong. */
  fetchJson(url: string, maxBytes: number): Promise<unknown>;
  close(): void;
}

export function createHttpClient(config: Config['outbound']): HttpClient {
  const allow = config.allowPrivate;
  const filter = {
    allowPrivateIPAddress: allow === true,
    allowIPAddressList: Array.isArray(allow) ? allow : [],
  };
  const agentOptions = { keepAlive: true, maxSockets: 256, ...filter };
  const agent = { http: new RequestFilteringHttpAgent(agentOptions), https: new RequestFilteringHttpsAgent(agentOptions) };

  const instance = got.extend({
    agent,
    timeout: { lookup: 2_000, connect: 3_000, request: config.timeoutMs },
    retry: { limit: 0 },
    followRedirect: true,
    maxRedirects: 5,
    throwHttpErrors: false,
    headers: { 'user-agent': 'Switchboard/0.1 (+https://github.com/switchboard)' },
  });

  async function fetchJson(url: string, maxBytes: number): Promise<unknown> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new OutboundError('unreachable', `"${url}" is not a valid URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new OutboundError('blocked', `only http and https URLs can be fetched, not ${parsed.protocol}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let statusCode = 0;
    try {
      const stream = instance.stream(parsed, { headers: { accept: 'application/json' } });
      stream.on('response', (res: { statusCode: number; headers: Record<string, string | undefined> }) => {
        statusCode = res.statusCode;
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > maxBytes) stream.destroy(new OutboundError('too_large', tooLarge(maxBytes)));
      });
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBytes) {
          stream.destroy();
          throw new OutboundError('too_large', tooLarge(maxBytes));
        }
        chunks.push(chunk);
      }
    } catch (error) {
      throw describe(error);
    }
    if (statusCode < 200 || statusCode >= 300) {
      throw new OutboundError('status', `the server answered HTTP ${statusCode}`, statusCode);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    try {
      return JSON.parse(text);
    } catch {
      throw new OutboundError('not_json', 'the response is not valid JSON');
    }
  }

  return {
    got: instance,
    fetchJson,
    close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}

function tooLarge(maxBytes: number) {
  return `the response is larger than the ${maxBytes}-byte limit`;
}

/** Turn got/agent failures into OutboundError with a message safe to show the caller. */
export function describe(error: unknown): OutboundError {
  if (error instanceof OutboundError) return error;
  const cause = error instanceof RequestError ? (error.cause ?? error) : error;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (/is not allowed/.test(message)) {
    return new OutboundError('blocked', 'the address resolves to a private, loopback or link-local network, which outbound calls may not reach');
  }
  if (error instanceof RequestError && error.code === 'ETIMEDOUT') {
    return new OutboundError('timeout', 'the server did not answer in time');
  }
  if (error instanceof OutboundError) return error;
  const code = error instanceof RequestError ? error.code : undefined;
  return new OutboundError('unreachable', `the server could not be reached${code ? ` (${code})` : ''}`);
}
