/**
 * The interval integrations' tick_url for bench:ticks, in its own process as a real integration would
 * be: it answers every call with 202 and notes when it arrived and its idempotency key (webhook-id).
 * Sharing the scheduler's process would measure the receiver too: a Node server whose event loop is
 * busy accepts about one new connection per turn of that loop, so a slot's first calls would wait on
 * the receiver, not on the scheduler.
 *
 * GET /arrivals answers `{ at: number[], keys: (string | null)[] }` (the same order); POST /reset forgets them.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

let at: number[] = [];
let keys: (string | null)[] = [];

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/arrivals') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ at, keys }));
    return;
  }
  if (req.method === 'POST' && req.url === '/reset') {
    at = [];
    keys = [];
    res.writeHead(204).end();
    return;
  }
  req.resume();
  req.on('end', () => {
    at.push(Date.now());
    const key = req.headers['webhook-id'];
    keys.push(typeof key === 'string' ? key : null);
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end('{}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
