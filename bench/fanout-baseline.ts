/**
 * The fan-out baseline: a raw `ws` server that broadcasts each frame POSTed to /publish, byte for byte,
 * to every connected socket. Prints `{"url": ...}` once listening.
 */
import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const frame = Buffer.concat(chunks).toString('utf8');
    for (const socket of wss.clients as Set<WebSocket>) socket.send(frame);
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
