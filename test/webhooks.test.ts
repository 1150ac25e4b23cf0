import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './support/app.js';
import { createChannel, createOrg } from './support/seed.js';
import { databases } from './support/services.js';

const Messages = graphql(`
  query WebhookMessages($channelId: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    messages(channelId: $channelId, first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { id channelId organisationId eventName username status message source userId createdAt } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`);

function documentedBody(channelId: string, overrides: Record<string, unknown> = {}) {
  return {
    channel_id: channelId,
    webhook_slug: 'test_webhook_url',
    action_type: 'create',
    status_code: '200',
    event_name: 'test',
    username: 'collins',
    retries: 0,
    status: 'success',
    avatar_url: 'https://example.com/avatar.jpg',
    message: 'This is a test message',
    user_id: 'user123',
    org_id: 'org456',
    ...overrides,
  };
}

for (const db of databases) {
  describe(`inbound webhooks (${db})`, () => {
    let t: TestApp;
    let orgId: string;
    let channelId: string;
    const post = (id: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      fetch(`${t.url}/v1/webhooks/${id}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const stored = async (id = channelId) => (await t.gql(Messages, { channelId: id, first: 100 })).messages.edges.map((e) => e.node);

    beforeAll(async () => {
      t = await startTestApp(db);
      orgId = await createOrg(t, 'Hooks');
      channelId = (await createChannel(t, orgId, 'alerts')).id;
    });
    afterAll(() => t.close());

    it('accepts the documented POST body with 202 and the id of the committed message', async () => {
      const res = await post(channelId, documentedBody(channelId));
      expect(res.status).toBe(202);
      const body = (await res.json()) as { status: string; status_code: number; data: { id: string } };
      expect(body).toMatchObject({ status: 'success', status_code: 202 });
      expect(body.data.id).toMatch(/^[0-9A-Z]{26}$/);
      const messages = await stored();
      expect(messages).toEqual([
        expect.objectContaining({
          id: body.data.id,
          channelId,
          organisationId: orgId,
          eventName: 'test',
          username: 'collins',
          status: 'success',
          message: 'This is a test message',
          source: 'webhook',
          userId: 'user123',
        }),
      ]);
    });

    it('names every missing required field in a 400 envelope and stores nothing', async () => {
      const before = (await stored()).length;
      const { event_name: _a, username: _b, ...partial } = documentedBody(channelId);
      const res = await post(channelId, partial);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { status: string; status_code: number; message: string; errors: { field: string }[] };
      expect(body.status).toBe('error');
      expect(body.status_code).toBe(400);
      expect(body.message).toMatch(/event_name/);
      expect(body.errors.map((e) => e.field)).toEqual(['event_name', 'username']);

      const { status: _c, ...noStatus } = documentedBody(channelId);
      const missingStatus = await post(channelId, noStatus);
      expect(missingStatus.status).toBe(400);
      expect(((await missingStatus.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(['status']);

      // The documented optional fields are type-checked when present, and channel_id must be the path's.
      const badSlug = await post(channelId, documentedBody(channelId, { webhook_slug: { a: 1 } }));
      expect(badSlug.status).toBe(400);
      expect(((await badSlug.json()) as { errors: { field: string }[] }).errors[0].field).toBe('webhook_slug');
      const otherChannel = await post(channelId, documentedBody(randomUUID()));
      expect(otherChannel.status).toBe(400);
      expect(((await otherChannel.json()) as { errors: { field: string }[] }).errors[0].field).toBe('channel_id');

      const empty = await post(channelId, documentedBody(channelId, { message: '' }));
      expect(empty.status).toBe(400);
      expect(((await empty.json()) as { errors: { field: string }[] }).errors[0].field).toBe('message');

      const wrongType = await post(channelId, documentedBody(channelId, { message: { text: 'hi' } }));
      expect(wrongType.status).toBe(400);
      expect(((await wrongType.json()) as { errors: { field: string }[] }).errors[0].field).toBe('message');

      const tooLong = await post(channelId, documentedBody(channelId, { username: 'x'.repeat(300) }));
      expect(tooLong.status).toBe(400);
      expect(((await tooLong.json()) as { errors: { field: string }[] }).errors[0].field).toBe('username');

      const longUser = await post(channelId, documentedBody(channelId, { user_id: 'u'.repeat(300) }));
      expect(longUser.status).toBe(400);
      expect(((await longUser.json()) as { errors: { field: string; message: string }[] }).errors[0]).toMatchObject({ field: 'user_id', message: expect.stringMatching(/^user_id/) });

      const notObject = await post(channelId, [1, 2]);
      expect(notObject.status).toBe(400);
      expect((await stored()).length).toBe(before);
    });

    it('answers 404 for an unknown channel, 400 for malformed JSON and 413 for a body over the limit', async () => {
      const unknown = await post(randomUUID(), documentedBody('x'));
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ status: 'error', status_code: 404 });
      const notUuid = await post('not-a-channel', documentedBody('x'));
      expect(notUuid.status).toBe(404);

      const before = (await stored()).length;
      const malformed = await post(channelId, '{"message": "half');
      expect(malformed.status).toBe(400);
      expect(await malformed.json()).toMatchObject({ status: 'error', status_code: 400 });

      const huge = await post(channelId, documentedBody(channelId, { message: 'x'.repeat(1_100_000) }));
      expect(huge.status).toBe(413);
      expect(await huge.json()).toMatchObject({ status: 'error', status_code: 413 });
      expect((await stored()).length).toBe(before);
    });

    it('accepts the four fields real interval integrations post, without the other documented ones', async () => {
      const report = { event_name: 'Uptime check', message: 'example.com is up (231 ms)', status: 'success', username: 'Uptime Bot' };
      const res = await post(channelId, report);
      expect(res.status).toBe(202);
      const { data } = (await res.json()) as { data: { id: string } };
      expect((await stored()).find((m) => m.id === data.id)).toMatchObject({ eventName: 'Uptime check', message: report.message, status: 'success', username: 'Uptime Bot', userId: null });
      // channel_id equal to the path's is fine; numbers where text is expected are read as text.
      const withChannel = await post(channelId, { ...report, channel_id: channelId, status_code: 200 });
      expect(withChannel.status).toBe(202);
    });

    it('accepts GET with query parameters as documented', async () => {
      const res = await fetch(`${t.url}/v1/webhooks/${channelId}?event_name=test&message=test_webhook_url&status=success&username=collins`);
      expect(res.status).toBe(202);
      const { data } = (await res.json()) as { data: { id: string } };
      const last = (await stored()).at(-1);
      expect(last).toMatchObject({ id: data.id, eventName: 'test', message: 'test_webhook_url', status: 'success', username: 'collins', source: 'webhook' });

      const missing = await fetch(`${t.url}/v1/webhooks/${channelId}?event_name=test`);
      expect(missing.status).toBe(400);
      expect(await missing.json()).toMatchObject({ status: 'error', errors: [{ field: 'message' }] });
      const unknown = await fetch(`${t.url}/v1/webhooks/${randomUUID()}?message=hi`);
      expect(unknown.status).toBe(404);
    });

    it('stores concurrent posts once each, with distinct ids in commit order, and pages them by id', async () => {
      const channel = (await createChannel(t, orgId, 'burst')).id;
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) => post(channel, documentedBody(channel, { message: `m${i}` })).then((r) => r.json() as Promise<{ data: { id: string } }>)),
      );
      const ids = answers.map((a) => a.data.id);
      expect(new Set(ids).size).toBe(60);
      const all = await stored(channel);
      expect(all.map((m) => m.id).sort()).toEqual([...ids].sort());
      expect(all.map((m) => m.id)).toEqual([...all.map((m) => m.id)].sort());

      const p1 = (await t.gql(Messages, { channelId: channel, first: 25 })).messages;
      expect(p1.edges).toHaveLength(25);
      expect(p1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
      const p2 = (await t.gql(Messages, { channelId: channel, first: 25, after: p1.pageInfo.endCursor })).messages;
      const p3 = (await t.gql(Messages, { channelId: channel, first: 25, after: p2.pageInfo.endCursor })).messages;
      expect(p3.edges).toHaveLength(10);
      expect(p3.pageInfo.hasNextPage).toBe(false);
      expect([...p1.edges, ...p2.edges, ...p3.edges].map((e) => e.node.id)).toEqual(all.map((m) => m.id));

      const back = (await t.gql(Messages, { channelId: channel, last: 5, before: p2.pageInfo.startCursor })).messages;
      expect(back.edges.map((e) => e.node.id)).toEqual(p1.edges.slice(20).map((e) => e.node.id));
      expect(back.pageInfo.hasPreviousPage).toBe(true);

      const bad = await t.gqlRaw('query($c: ID!) { messages(channelId: $c, after: "nope") { edges { cursor } } }', { c: channel });
      expect(bad.errors?.[0]).toMatchObject({ message: expect.stringMatching(/after is not a message id/), extensions: { code: 'BAD_USER_INPUT', field: 'after' } });
    });
  });
}
