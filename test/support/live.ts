/**
 * Raw subscription clients for tests that watch how a stream ends: a graphql-ws socket (graphql-transport-ws
 * frames as sent, the close code) and an SSE stream (events as sent, and whether the server ended it).
 */
import WebSocket from 'ws';
import { sleep, until } from './wait.js';

export interface Frame {
  id?: string;
  type: string;
  payload?: any;
}

export interface RawSocket {
  frames: Frame[];
  /** The close code once the socket closed (null while open). */
  closed: { code: number; reason: string } | null;
  acked: boolean;
  subscribe(id: string, query: string, variables?: Record<string, unknown>): void;
  /** `next` payloads of one operation. */
  nexts(id: string): any[];
  completed(id: string): boolean;
  close(): Promise<void>;
}

/** Open a graphql-ws socket, send `connection_init` with `payload` (omitted when undefined) and wait for its answer. */
export async function openSocket(httpUrl: string, payload?: Record<string, unknown>): Promise<RawSocket> {
  const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const socket: RawSocket = {
    frames: [],
    closed: null,
    acked: false,
    subscribe: (id, query, variables) => ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } })),
    nexts: (id) => socket.frames.filter((f) => f.id === id && f.type === 'next').map((f) => f.payload),
    completed: (id) => socket.frames.some((f) => f.id === id && f.type === 'complete'),
    async close() {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
      await until(() => ws.readyState === ws.CLOSED, 5_000, 'the socket to close').catch(() => ws.terminate());
    },
  };
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Frame;
    if (frame.type === 'connection_ack') socket.acked = true;
    else if (frame.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
    socket.frames.push(frame);
  });
  ws.on('close', (code, reason) => (socket.closed = { code, reason: String(reason) }));
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'connection_init', ...(payload === undefined ? {} : { payload }) }));
  // Operations may be sent only once the server acknowledged the connection (or it refused it).
  await until(() => socket.acked || socket.closed, 5_000, 'connection_ack or a close');
  return socket;
}

export interface SseStream {
  /** `next` payloads as received. */
  nexts: any[];
  /** Whether the server sent `complete`. */
  completed: boolean;
  /** Whether the response body ended. */
  ended: boolean;
  status: number;
  close(): void;
}

/** Subscribe over SSE (POST /graphql, Accept: text/event-stream) with a bearer token. */
export async function openSse(httpUrl: string, token: string, query: string, variables?: Record<string, unknown>): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(`${httpUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal: abort.signal,
  });
  const stream: SseStream = { nexts: [], completed: false, ended: false, status: res.status, close: () => abort.abort() };
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('\n');
          if (event === 'next' && data) stream.nexts.push(JSON.parse(data));
          if (event === 'complete') stream.completed = true;
        }
      }
    } catch {
      // aborted by the test
    }
    stream.ended = true;
  })();
  return stream;
}

/**
 * Post `probe` messages to the channel's webhook until `seen()` says every subscriber received one: the
 * subscriptions are live from then on.
 */
export async function untilLive(webhookUrl: string, seen: () => boolean, what = 'the subscriptions to be live') {
  await until(
    async () => {
      if (seen()) return true;
      await fetch(`${webhookUrl}?message=probe&event_name=probe&status=success&username=probe`);
      await sleep(100);
      return seen();
    },
    20_000,
    what,
  );
}
