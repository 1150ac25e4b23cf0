/**
 * The fan-out baseline: a raw `ws` server that broadcasts each frame POSTed to /publish, byte for byte,
 * to every connected socket, as fast as a broadcast can be written: the WebSocket text frame (header and
 * payload) is built once, as one Buffer, and that same Buffer is written to every socket's TCP stream, all
 * of them corked until the loop ends (no per-socket encoding, framing or syscall per frame).
 * Prints `{"url": ...}` once listening.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import * as ws from 'ws';
import { WebSocketServer, type WebSocket } from 'ws';

// ws's frame builder (exported by the package, not described by its types).
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean }): Buffer[] } };
/** One unmasked, final text frame around `payload` (what a server sends), header and payload in one Buffer. */
const textFrame = (payload: Buffer) => Buffer.concat(Sender.frame(payload, { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: true }));

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const frame = textFrame(Buffer.concat(chunks));
    const streams: Duplex[] = [];
    for (const socket of wss.clients as Set<WebSocket>) {
      if (socket.readyState !== socket.OPEN) continue;
      // ws keeps the TCP stream in `_socket`; without compression (off by default) its sender writes frames
      // straight through, so a whole frame written here never splits one of its own.
      const stream = (socket as unknown as { _socket: Duplex })._socket;
      stream.cork();
      stream.write(frame);
      streams.push(stream);
    }
    for (const stream of streams) stream.uncork();
    res.writeHead(202).end();
  });
});
const wss = new WebSocketServer({ server, path: '/ws' });
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${address.port}` })}\n`);
});
const stop = () => {
  for (const socket of wss.clients) socket.terminate();
  wss.close();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
