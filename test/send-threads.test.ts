/**
 * The sender threads (src/modules/deliveries/send-threads.ts), on their own: a real thread making real calls to a
 * loopback server. Each caller gets its own call's answer among many at once; the thread's client is guarded and
 * signs as the main thread's would; a thread that dies answers its calls in flight as failed and is replaced; a
 * stopped pool answers without calling.
 */
import type { ServerResponse } from 'node:http';
import type { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { SendThreads } from '../src/modules/deliveries/send-threads.js';
import { generateSigningSecret, signingKey } from '../src/infra/webhook-signature.js';
import { json, startServer, type LocalServer } from './support/http-server.js';
import { until } from './support/wait.js';

const outbound = (allow: string | undefined) => loadConfig({ SWITCHBOARD_DATA_DIR: '/tmp/sb-send-threads', ...(allow ? { OUTBOUND_ALLOW_PRIVATE: allow } : {}) }).outbound;
const logger = pino({ level: 'silent' });

describe('sender threads', () => {
  let server: LocalServer;
  const held: ServerResponse[] = [];

  beforeAll(async () => {
    server = await startServer((req, res) => {
      if (req.url === '/hold') return void held.push(res);
      json(res, 200, { echo: req.json });
    });
  });
  afterAll(async () => {
    for (const res of held) res.destroy();
    await server.close();
  });

  it('answers each of 300 calls at once with its own outcome, across two threads', async () => {
    const threads = new SendThreads(outbound('127.0.0.1'), 2, logger);
    try {
      const outcomes = await Promise.all(Array.from({ length: 300 }, (_, i) => threads.send({ url: `${server.url}/echo`, body: { i } })));
      outcomes.forEach((o, i) => {
        expect(o).toMatchObject({ ok: true, statusCode: 200, json: { echo: { i } } });
        expect(o.latencyMs).toBeGreaterThan(0);
      });
    } finally {
      await threads.close();
    }
  });

  it('signs over the exact bytes sent, and refuses what the guard refuses, as the main thread does', async () => {
    const secret = generateSigningSecret();
    const allowed = new SendThreads(outbound('127.0.0.1'), 1, logger);
    const guarded = new SendThreads(outbound(undefined), 1, logger);
    try {
      const before = server.requests.length;
      const outcome = await allowed.send({ url: `${server.url}/echo`, body: { message: 'héllo' }, signing: { id: 'msg_one', keys: [signingKey(secret)] } });
      expect(outcome.ok).toBe(true);
      const call = server.requests[before];
      expect(call.headers['webhook-id']).toBe('msg_one');
      expect(new Webhook(secret).verify(call.body, call.headers as Record<string, string>)).toEqual({ message: 'héllo' });

      const refused = await guarded.send({ url: `${server.url}/echo`, body: {} });
      expect(refused).toMatchObject({ ok: false, failure: 'blocked', statusCode: null });
      expect(server.requests.length).toBe(before + 1);
    } finally {
      await allowed.close();
      await guarded.close();
    }
  });

  it('answers the calls of a thread that died as failed, and starts another for the next call', async () => {
    const threads = new SendThreads(outbound('127.0.0.1'), 1, logger);
    try {
      const inFlight = threads.send({ url: `${server.url}/hold`, body: {} });
      await until(() => held.length === 1, 10_000, 'the held call to arrive');
      await (threads as unknown as { threads: { worker: Worker }[] }).threads[0].worker.terminate();
      expect(await inFlight).toMatchObject({ ok: false, statusCode: null, error: expect.stringMatching(/sender thread stopped/) });
      expect(await threads.send({ url: `${server.url}/echo`, body: { again: true } })).toMatchObject({ ok: true, json: { echo: { again: true } } });
    } finally {
      await threads.close();
    }
  });

  it('once closed, answers calls in flight and new ones as failed without calling', async () => {
    const threads = new SendThreads(outbound('127.0.0.1'), 1, logger);
    const inFlight = threads.send({ url: `${server.url}/hold`, body: {} });
    await until(() => held.length === 2, 10_000, 'the held call to arrive');
    await threads.close();
    expect(await inFlight).toMatchObject({ ok: false, error: expect.stringMatching(/stopping/) });
    const before = server.requests.length;
    expect(await threads.send({ url: `${server.url}/echo`, body: {} })).toMatchObject({ ok: false, error: 'the gateway is stopping' });
    expect(server.requests.length).toBe(before);
  });

  it('fails a call whose body cannot be copied to the thread alone', async () => {
    const threads = new SendThreads(outbound('127.0.0.1'), 1, logger);
    try {
      const [bad, good] = await Promise.all([
        threads.send({ url: `${server.url}/echo`, body: { f: () => 1 } }),
        threads.send({ url: `${server.url}/echo`, body: { fine: 1 } }),
      ]);
      expect(bad).toMatchObject({ ok: false, error: expect.stringMatching(/could not be handed to the sender thread/) });
      expect(good).toMatchObject({ ok: true, json: { echo: { fine: 1 } } });
    } finally {
      await threads.close();
    }
  });
});
