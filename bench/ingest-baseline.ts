/**
 * The ingest baseline: a bare node:http handler that parses the JSON body and does one INSERT per
 * request into the gateway's own `messages` table (same database, same driver), answering 202 after the
 * INSERT commits. Prints `{"url": ...}` once listening. Env: DATABASE_URL, CHANNEL_ID, ORG_ID.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { MikroORM } from '@mikro-orm/core';
import { loadConfig } from '../src/config.js';
import { ormOptions } from '../src/db/orm.js';

const config = loadConfig();
const channelId = process.env.CHANNEL_ID!;
const orgId = process.env.ORG_ID!;
const isPg = config.database.driver === 'postgresql';
// The same driver (and pool size) as the gateway, but no ORM work: one raw INSERT, autocommitted.
const orm = await MikroORM.init({ ...ormOptions(config.database), migrations: {} } as never);
const connection = orm.em.getConnection();
if (!isPg) await connection.execute('pragma busy_timeout = 5000');
const sql = `insert into messages (id, channel_id, organisation_id, event_name, username, status, message, payload, source, user_id, modifiers_applied, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
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
    insert([id, channelId, orgId, body.event_name, body.username, body.status, body.message, JSON.stringify(body), 'webhook', body.user_id, '[]', now]).then(
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
