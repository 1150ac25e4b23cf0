/**
 * A channel feed hands its subscribers what it delivered in one turn of the event loop when that turn's work
 * is done, each subscriber all of it in a row. These tests hold it to its promise around that hand-over:
 * a subscriber joining in the same turn starts after the head it was told (no message twice, none lost),
 * messages committed together reach every subscriber in order, and one subscriber's failure is its own.
 * With Redis, a message committed on this replica reaches its subscribers here without waiting for Redis
 * to echo it, and the echo is not delivered again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../src/modules/messages/channel-feeds.js';
import { postMessage } from '../src/modules/messages/messages.service.js';
import { startTestApp, type TestApp } from './support/app.js';
import { createChannel, createOrg } from './support/seed.js';
import { databases, redisAvailable, REDIS_URL } from './support/services.js';
import { sleep, until } from './support/wait.js';

const setups = [...databases.map((db) => ({ db, redis: false })), ...(redisAvailable ? [{ db: databases[0], redis: true }] : [])];

describe.each(setups)('channel feeds ($db, Redis: $redis)', ({ db, redis }) => {
  let t: TestApp;
  let channelId: string;

  beforeAll(async () => {
    t = await startTestApp(db, redis ? { REDIS_URL } : {});
    const org = await createOrg(t, 'feeds');
    channelId = (await createChannel(t, org, 'feed')).id;
  });
  afterAll(() => t?.close());

  const post = (message: string) =>
    postMessage({ em: t.app.orm.em.fork(), deps: t.app.deps }, { channelId, message, eventName: 'e', status: 'success', username: 'u', source: 'webhook' });
  const join = (into: MessageView[]) => t.app.deps.messages.feeds.join(channelId, (view) => void into.push(view));
  const seqs = (views: MessageView[]) => views.map((v) => v.seq);

  it('a subscriber that joins in the turn a message was delivered starts after it: the others get it, it does not', async () => {
    const first: MessageView[] = [];
    const a = await join(first);
    const start = a.head;
    // postMessage resolves in the same turn as its commit and publish: the message is delivered (it is the
    // feed's head) but still on its way to the subscribers when the second one joins.
    const posted = await post('in the same turn');
    const second: MessageView[] = [];
    const b = await join(second);
    expect(posted.seq).toBe(start + 1);
    expect(b.head).toBe(start + 1);
    expect(seqs(first)).toEqual([start + 1]);
    await sleep(20);
    expect(second).toEqual([]);

    await post('after both joined');
    await until(() => second.length === 1 && first.length === 2);
    expect(seqs(first)).toEqual([start + 1, start + 2]);
    expect(seqs(second)).toEqual([start + 2]);
    a.leave();
    b.leave();
  });

  it('messages committed together reach each subscriber in commit order, each once', async () => {
    const views: MessageView[][] = [[], [], []];
    const joined = await Promise.all(views.map(join));
    const start = joined[0].head;
    const posted = await Promise.all(Array.from({ length: 12 }, (_, i) => post(`together ${i}`)));
    const expected = posted.map((m) => m.seq).sort((x, y) => x - y);
    expect(expected).toEqual(Array.from({ length: 12 }, (_, i) => start + 1 + i));
    await until(() => views.every((v) => v.length === 12));
    for (const v of views) expect(seqs(v)).toEqual(expected);
    await sleep(20);
    for (const v of views) expect(v.length).toBe(12);
    for (const j of joined) j.leave();
  });

  it("a subscriber that throws loses nothing of the others'", async () => {
    const good: MessageView[] = [];
    const broken = await t.app.deps.messages.feeds.join(channelId, () => {
      throw new Error('this subscriber is broken');
    });
    const ok = await join(good);
    const start = ok.head;
    await post('one');
    await post('two');
    await until(() => good.length === 2);
    expect(seqs(good)).toEqual([start + 1, start + 2]);
    broken.leave();
    ok.leave();
  });
});
