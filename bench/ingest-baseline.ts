/**
 * The ingest baseline: a bare node:http handler that parses the JSON body and does one INSERT per
 * request into a `messages` table like the gateway's (same kind of database, same driver), answering 202 after the
 * INSERT commits. Prints `{"url": ...}` once listening. Env: DATABASE_URL (a fresh database).
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../src/config.js';
import { initOrm } from '../src/db/orm.js';
import { Channel } from '../src/modules/channels/channel.entity.js';
import { Organisation } from '../src/modules/organisations/organisation.entity.js';

const config = loadConfig();
const isPg = config.database.driver === 'postgresql';
// Its own database of the same kind, with the gateway's schema (a SQLite file shared with a running
// gateway would make each side wait on the other's write lock), and the same driver and pool size as
// the gateway, but no ORM work per request: one raw INSERT, autocommitted.
const orm = await initOrm(config.database);
const seed = orm.em.fork();
const organisation = seed.create(Organisation, { name: 'baseline' });
const channel = seed.create(Channel, { organisation, name: 'baseline' });
await seed.flush();
const orgId = organisation.id;
const channelId = channel.id;
const connection = orm.em.getConnection();
// `seq` from a counter in this one process: the naive baseline does not number across replicas.
const sql = `insert into messages (id, seq, channel_id, organisation_id, event_name, username, status, message, payload, source, user_id, modifiers_applied, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
let seq = 0;
const insert = (row: unknown[]) => connection.execute(sql, row, 'run');
const close = () => orm.close(true);

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end();
      return;
    }
    const id = randomUUID().replace(/-/g, '').slice(0, 26).toUpperCase();
    const now = isPg ? new Date() : Date.now();
    insert([id, ++seq, channelId, orgId, body.event_name, body.username, body.status, body.message, JSON.stringify(body), 'webhook', body.user_id, '[]', now]).then(
      () => {
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'success', status_code: 202, message: 'message accepted', data: { id } }));
      },
      (error) => {
        console.error(error);
        res.writeHead(500).end();
      },
    );
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${address.port}` })}\n`);
});
const stop = () => server.close(() => void close().finally(() => process.exit(0)));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
