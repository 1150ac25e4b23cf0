/**
 * Fan-out without re-executing (or re-serialising) the same operation once per subscriber.
 *
 * Every subscriber of a channel receives the same event object; graphql's per-event step would execute
 * the subscription's selection once for each of them (1,000 subscribers: 1,000 identical executions per
 * message). This Yoga/envelop plugin runs the source stream as usual (the field's `subscribe` resolver,
 * so authorisation stays per subscriber, checked at subscribe time) and memoises the per-event execution
 * by (event, document, operation name, variables): identical subscriptions share one result object.
 * It applies only to root fields whose selected data does not depend on the viewer (the `Message` type's
 * fields read only the message), listed in `fields`.
 *
 * Over graphql-ws, the context carries a `sendNextFrame` (see `NextFrameWriter`): a result without
 * errors is then serialised once per event and written straight to each socket as a `next` frame built
 * around the subscription id, skipping the per-delivery work of Yoga's result hooks and graphql-ws's
 * emit. Results with errors, and every result over SSE, take the usual path (error masking, hooks).
 * The stream is consumed in order in one loop, and graphql-ws asks for the next value only after it has
 * sent the previous one, so frames leave in event order whichever path each takes. A `channelMessages`
 * stream also pushes its in-order live events synchronously (LIVE_PUSH), so the common case costs no
 * promise per subscriber and event.
 */
import { createSourceEventStream, getOperationAST, Kind, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { LIVE_PUSH, type LivePushStream } from './messages.service.js';

/**
 * Writes one graphql-ws `next` frame whose payload is the given (shared, error-free) result; `more`: another
 * frame for the same subscriber follows at once (messages committed together), so this one may wait for it.
 */
export type NextFrameSender = (result: ExecutionResult, more?: boolean) => void;

/** Context key under which the graphql-ws door passes a subscription's `NextFrameSender`. */
export interface DirectFrames {
  sendNextFrame?: NextFrameSender;
}

/** What of `ws`'s WebSocket the direct write looks at: its TCP stream and whether its sender is between messages. */
interface WsInternals {
  _socket?: Duplex;
  _sender?: { _state: number; _firstFragment: boolean };
}
const SENDER_IDLE = 0;

/**
 * Writes graphql-ws `next` frames straight to sockets (one writer per app, see `forSubscription`).
 *
 * A channel feed hands each subscriber all of a turn's messages in a row (channel-feeds.ts), saying whether
 * more follow (`more`). A lone frame is written at once, as it is made: the first subscribers do not wait
 * for everyone's frames. A socket with more to come is held corked until its last frame of the turn, so its
 * frames leave in one write (one syscall); if that last frame does not come this way (a subscriber whose
 * next event took the usual path), the socket is uncorked when a frame for another socket is written, or at
 * the end of the turn. `ws` keeps its socket in `_socket`; its own cork/uncork around each frame nests inside this one.
 */
export class NextFrameWriter {
  /** The socket held corked for the frames that follow, if any. */
  private corked: Duplex | null = null;
  private endOfTurnScheduled = false;
  private readonly release = () => {
    this.corked?.uncork();
    this.corked = null;
  };
  private readonly endTurn = () => {
    this.endOfTurnScheduled = false;
    this.release();
  };

  private hold(raw: Duplex) {
    if (this.corked === raw) return;
    this.release();
    raw.cork();
    this.corked = raw;
    if (!this.endOfTurnScheduled) {
      this.endOfTurnScheduled = true;
      process.nextTick(this.endTurn);
    }
  }

  /**
   * A `next` frame writer for subscription `id` on a graphql-ws socket. The bytes are those graphql-ws
   * itself sends (`JSON.stringify({ id, type: 'next', payload })`, in that key order). Like graphql-ws,
   * nothing is written once the socket is no longer open.
   *
   * The result's JSON is encoded once per result; each subscription adds its own head (its id, encoded once)
   * and the WebSocket header, copying bytes only. The whole frame is written to the socket's TCP stream in one
   * chunk, as ws itself would write it. That needs ws's sender to be between messages, with no extension
   * (compression) agreed; otherwise, and once more than `maxBufferedBytes` wait on the socket, the payload
   * goes through `socket.send` (which src/infra/backpressure.ts bounds, closing a subscriber that stopped reading).
   */
  forSubscription(socket: WebSocket, id: string, maxBufferedBytes: number): NextFrameSender {
    const head = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
    const { _socket: raw, _sender: sender } = socket as unknown as WsInternals;
    // Agreed in the handshake, before any subscription (ws builds the string on each read).
    const plain = !socket.extensions;
    return (result, more = false) => {
      if (socket.readyState !== socket.OPEN) return;
      if (raw && more) this.hold(raw);
      if (raw && plain && sender?._state === SENDER_IDLE && sender._firstFragment && socket.bufferedAmount <= maxBufferedBytes) {
        raw.write(textFrame(head, bodyOf(result)));
      } else socket.send(Buffer.concat([head, bodyOf(result)]), { binary: false });
      // This socket's last frame of the turn (its own cork, if it had one, ends with it), or a frame for another
      // socket than the one held: either way no frame follows for the one held.
      if (!more) this.release();
    };
  }
}

/** The end of a `next` frame's payload, after its head: the result's JSON and the closing brace, encoded once. */
const bodies = new WeakMap<ExecutionResult, Buffer>();
function bodyOf(result: ExecutionResult): Buffer {
  let body = bodies.get(result);
  if (!body) bodies.set(result, (body = Buffer.from(`${JSON.stringify(result)}}`)));
  return body;
}

/** An unmasked, final WebSocket text frame (RFC 6455 section 5.2, as a server sends it) around the bytes of `a` then `b`. */
function textFrame(a: Buffer, b: Buffer): Buffer {
  const length = a.length + b.length;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81; // FIN, opcode 1 (text)
  if (length < 126) frame[1] = length;
  else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  a.copy(frame, headerLength);
  b.copy(frame, headerLength + a.length);
  return frame;
}

const documentIds = new WeakMap<DocumentNode, number>();
let nextDocumentId = 1;
const documentId = (d: DocumentNode) => {
  let id = documentIds.get(d);
  if (!id) documentIds.set(d, (id = nextDocumentId++));
  return id;
};


/**
 * The source stream mapped through `run`; with `send`, results without errors are written directly and
 * the loop goes on to the next event, so only results that need the usual path are yielded.
 */
function sharedStream(
  source: AsyncIterable<unknown>,
  run: (event: unknown) => ExecutionResult | Promise<ExecutionResult>,
  send: NextFrameSender | undefined,
): AsyncIterableIterator<ExecutionResult> {
  const it = source[Symbol.asyncIterator]();
  // A channel's live events can come straight from its feed (see LIVE_PUSH): a result ready at once and
  // without errors is written there and then; anything else is left to next(), in order.
  if (send && LIVE_PUSH in it) {
    (it as LivePushStream)[LIVE_PUSH]((event, more) => {
      // Runs inside the feed's loop over all subscribers: a failure here stays this subscriber's, on the usual path.
      try {
        const result = run(event);
        if (result instanceof Promise || result.errors) return false;
        send(result, more);
        return true;
      } catch {
        return false;
      }
    });
  }
  let ended = false;
  const stream: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => stream,
    async next() {
      for (;;) {
        const r = await it.next();
        if (r.done || ended) return { value: undefined, done: true };
        const ran = run(r.value);
        const result = ran instanceof Promise ? await ran : ran;
        if (!send || result.errors) return { value: result, done: false };
        send(result);
      }
    },
    async return() {
      ended = true;
      await it.return?.();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      ended = true;
      if (it.throw) await it.throw(error);
      throw error;
    },
  };
  return stream;
}

/** Runs a subscription's selection on an event, called as graphql-js's `execute` is; `prepare` readies an operation before its first event. */
interface EventExecute {
  (args: ExecutionArgs): ExecutionResult | Promise<ExecutionResult>;
  prepare(args: ExecutionArgs): void;
}

/**
 * `execute` runs a subscription's selection on an event: the app gives the one that compiles documents
 * (src/graphql/executor.ts), and each shared subscription's operation is compiled when it is subscribed.
 */
export function useSharedSubscriptionResults(fields: string[], execute: EventExecute): Plugin {
  const shared = new Set(fields);
  const results = new WeakMap<object, Map<string, ExecutionResult | Promise<ExecutionResult>>>();
  return {
    onSubscribe({ args, setSubscribeFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      const selections = operation?.selectionSet.selections ?? [];
      if (operation?.operation !== 'subscription' || selections.length !== 1) return;
      const [field] = selections;
      if (field.kind !== Kind.FIELD || !shared.has(field.name.value)) return;
      setSubscribeFn(async (a: ExecutionArgs) => {
        const source = await createSourceEventStream(a);
        if (!isAsyncIterable(source)) return source;
        execute.prepare(a);
        const key = `${documentId(a.document)}:${a.operationName ?? ''}:${JSON.stringify(a.variableValues ?? {})}`;
        const run = (event: unknown) => {
          if (typeof event !== 'object' || event === null) return execute({ ...a, rootValue: event });
          let perEvent = results.get(event);
          if (!perEvent) results.set(event, (perEvent = new Map()));
          let result = perEvent.get(key);
          if (!result) perEvent.set(key, (result = execute({ ...a, rootValue: event })));
          return result;
        };
        return sharedStream(source, run, (a.contextValue as DirectFrames | undefined)?.sendNextFrame);
      });
    },
  };
}
