/**
 * Revocation cuts live access: a revoked or expired token closes the graphql-ws sockets it authenticated (4403)
 * and ends its SSE subscriptions; a member removed from an organisation loses that organisation's subscriptions
 * (and keeps the others); a socket without a valid token in connection_init is closed with 4403; a removed
 * member's Rocket.Chat outgoing integration stops POSTing. In one process (SQLite and PostgreSQL) and across two
 * gateway processes sharing Redis and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway, type GatewayProcess } from '../bench/spawn.js';
import { ADMIN_TOKEN, remoteGateway, startTestApp, type TestApp } from './support/app.js';
import { startServer, type LocalServer } from './support/http-server.js';
import { openSocket, openSse, untilLive, type RawSocket, type SseStream } from './support/live.js';
import { addMember, createChannel, createOrg, createUser } from './support/seed.js';
import { databases, freshDatabase, postgresAvailable, redisAvailable, REDIS_URL } from './support/services.js';
import { sleep, until } from './support/wait.js';

const SUBSCRIPTION = 'subscription($c: ID!) { channelMessages(channelId: $c) { id message } }';

const revokeToken = (t: TestApp, id: string, token: string) =>
  t.gqlRaw('mutation($id: ID!) { revokeAccessToken(input: { id: $id }) { __typename ... on Error { message } } }', { id }, token);

async function newToken(t: TestApp, token: string, expiresAt?: string) {
  const r = await t.gqlRaw(
    'mutation($name: String!, $at: DateTime) { createAccessToken(input: { name: $name, expiresAt: $at }) { __typename ... on MutationCreateAccessTokenSuccess { data { token accessToken { id expiresAt } } } ... on ValidationError { field message } } }',
    { name: 'live', at: expiresAt },
    token,
  );
  return (r.data as { createAccessToken: { __typename: string; data?: { token: string; accessToken: { id: string; expiresAt: string | null } }; field?: string } }).createAccessToken;
}

const removeMember = (t: TestApp, organisationId: string, user: string, token = ADMIN_TOKEN) =>
  t.gqlRaw('mutation($o: ID!, $u: String!) { removeMember(input: { organisationId: $o, user: $u }) { __typename } }', { o: organisationId, u: user }, token);

/** The error that ends a subscription whose access was taken away. */
const revokedError = (reason: string) => ({ errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'ACCESS_REVOKED', reason }) })] });

for (const db of databases) {
  describe(`revocation ends live access (${db})`, () => {
    let t: TestApp;
    const sockets: RawSocket[] = [];
    const streams: SseStream[] = [];
    const servers: LocalServer[] = [];
    beforeAll(async () => {
      t = await startTestApp(db);
    });
    afterAll(async () => {
      streams.forEach((s) => s.close());
      await Promise.all(sockets.map((s) => s.close()));
      await Promise.all(servers.map((s) => s.close()));
      await t.close();
    });
    const socket = async (payload?: Record<string, unknown>) => {
      const s = await openSocket(t.url, payload);
      sockets.push(s);
      return s;
    };
    const sse = async (token: string, channelId: string) => {
      const s = await openSse(t.url, token, SUBSCRIPTION, { c: channelId });
      streams.push(s);
      return s;
    };

    it('closes a graphql-ws socket with 4403 when connection_init carries no token, a bad one or a revoked one', async () => {
      const user = await createUser(t, 'init-user');
      const revoked = await newToken(t, user.token);
      await revokeToken(t, revoked.data!.accessToken.id, user.token);
      for (const payload of [undefined, {}, { authorization: 'Bearer sb_not_a_token' }, { authorization: `Bearer ${revoked.data!.token}` }]) {
        const s = await socket(payload);
        await until(() => s.closed, 5_000, `the socket with ${JSON.stringify(payload)} to close`);
        expect(s.closed).toEqual({ code: 4403, reason: 'Forbidden' });
        expect(s.acked).toBe(false);
      }
      const ok = await socket({ authorization: `Bearer ${user.token}` });
      await until(() => ok.acked, 5_000, 'connection_ack');
      expect(ok.closed).toBeNull();
    });

    it('revoking a token closes its sockets with 4403 and ends its SSE subscriptions, on this replica at once; other tokens keep theirs', async () => {
      const user = await createUser(t, 'rev-user');
      const org = await createOrg(t, 'Revoke');
      const channel = await createChannel(t, org, 'live');
      await addMember(t, org, user.id, 'MEMBER');
      const doomed = await newToken(t, user.token);
      const ws = await socket({ authorization: `Bearer ${doomed.data!.token}` });
      ws.subscribe('1', SUBSCRIPTION, { c: channel.id });
      const stream = await sse(doomed.data!.token, channel.id);
      const other = await socket({ authorization: `Bearer ${user.token}` });
      other.subscribe('1', SUBSCRIPTION, { c: channel.id });
      await untilLive(channel.webhookUrl, () => ws.nexts('1').length > 0 && stream.nexts.length > 0 && other.nexts('1').length > 0);

      const began = Date.now();
      expect((await revokeToken(t, doomed.data!.accessToken.id, user.token)).data).toEqual({ revokeAccessToken: { __typename: 'MutationRevokeAccessTokenSuccess' } });
      await until(() => ws.closed && stream.ended, 5_000, 'the socket and the stream to end');
      const endedMs = Date.now() - began;
      expect(ws.closed?.code).toBe(4403);
      expect(stream.nexts.at(-1)).toEqual(revokedError('token_revoked'));
      expect(stream.completed).toBe(true);
      expect(endedMs).toBeLessThan(2_000);
      // Nothing more reaches them; the other token's subscription goes on.
      const before = other.nexts('1').length;
      await fetch(`${channel.webhookUrl}?message=after-revoke`);
      await until(() => other.nexts('1').length > before, 5_000, 'the other token to receive');
      expect(other.nexts('1').at(-1)).toMatchObject({ data: { channelMessages: { message: 'after-revoke' } } });
      expect(other.closed).toBeNull();
      // And the token is refused from now on.
      const http = await t.gqlRaw('{ viewer { id } }', undefined, doomed.data!.token);
      expect(http.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('removing a member ends their subscriptions of that organisation only, over graphql-ws and SSE', async () => {
      const user = await createUser(t, 'rm-user');
      const orgA = await createOrg(t, 'Leaving');
      const orgB = await createOrg(t, 'Staying');
      const a = await createChannel(t, orgA, 'a');
      const b = await createChannel(t, orgB, 'b');
      await addMember(t, orgA, user.id, 'MEMBER');
      await addMember(t, orgB, user.id, 'MEMBER');
      const ws = await socket({ authorization: `Bearer ${user.token}` });
      ws.subscribe('a', SUBSCRIPTION, { c: a.id });
      ws.subscribe('b', SUBSCRIPTION, { c: b.id });
      const streamA = await sse(user.token, a.id);
      const streamB = await sse(user.token, b.id);
      await untilLive(a.webhookUrl, () => ws.nexts('a').length > 0 && streamA.nexts.length > 0, 'subscriptions of A');
      await untilLive(b.webhookUrl, () => ws.nexts('b').length > 0 && streamB.nexts.length > 0, 'subscriptions of B');

      expect((await removeMember(t, orgA, user.id)).data).toEqual({ removeMember: { __typename: 'MutationRemoveMemberSuccess' } });
      await until(() => ws.completed('a') && streamA.ended, 5_000, 'the subscriptions of A to end');
      expect(ws.nexts('a').at(-1)).toEqual(revokedError('membership_removed'));
      expect(ws.nexts('a').at(-1).errors[0].extensions.organisationId).toBe(orgA);
      expect(streamA.nexts.at(-1)).toEqual(revokedError('membership_removed'));
      expect(streamA.completed).toBe(true);

      // A's messages no longer reach them; B's still do, on the same socket.
      const seenA = ws.nexts('a').length;
      await fetch(`${a.webhookUrl}?message=secret-of-a`);
      const seenB = ws.nexts('b').length;
      const seenSseB = streamB.nexts.length;
      await fetch(`${b.webhookUrl}?message=still-b`);
      await until(() => ws.nexts('b').length > seenB && streamB.nexts.length > seenSseB, 5_000, 'B to keep receiving');
      await sleep(300);
      expect(ws.nexts('a').length).toBe(seenA);
      expect(JSON.stringify(ws.frames)).not.toContain('secret-of-a');
      expect(ws.closed).toBeNull();
      expect(streamB.ended).toBe(false);
      // Subscribing to A again is refused.
      ws.subscribe('a2', SUBSCRIPTION, { c: a.id });
      await until(() => ws.frames.find((f) => f.id === 'a2' && (f.type === 'next' || f.type === 'error')), 5_000, 'the refusal');
      expect(JSON.stringify(ws.frames.filter((f) => f.id === 'a2'))).toMatch(/NOT_FOUND/);
    });

    it('a token with expiresAt is refused after it, and its socket and subscriptions end at that instant', async () => {
      const user = await createUser(t, 'exp-user');
      const org = await createOrg(t, 'Expiry');
      const channel = await createChannel(t, org, 'ticking');
      await addMember(t, org, user.id, 'MEMBER');
      const past = await newToken(t, user.token, new Date(Date.now() - 1_000).toISOString());
      expect(past).toMatchObject({ __typename: 'ValidationError', field: 'expiresAt' });
      const expiresAt = new Date(Date.now() + 3_000);
      const short = await newToken(t, user.token, expiresAt.toISOString());
      expect(short.data?.accessToken.expiresAt).toBe(expiresAt.toISOString());
      const ws = await socket({ authorization: `Bearer ${short.data!.token}` });
      ws.subscribe('1', SUBSCRIPTION, { c: channel.id });
      const stream = await sse(short.data!.token, channel.id);
      await untilLive(channel.webhookUrl, () => ws.nexts('1').length > 0 && stream.nexts.length > 0);
      expect((await t.gqlRaw('{ viewer { name } }', undefined, short.data!.token)).data).toEqual({ viewer: { name: 'exp-user' } });

      await until(() => ws.closed && stream.ended, 10_000, 'the expiry to end them');
      const lateMs = Date.now() - expiresAt.getTime();
      expect(lateMs).toBeGreaterThanOrEqual(-50);
      expect(lateMs).toBeLessThan(1_500);
      expect(ws.closed?.code).toBe(4403);
      expect(stream.nexts.at(-1)).toEqual(revokedError('token_expired'));
      const refused = await t.gqlRaw('{ viewer { name } }', undefined, short.data!.token);
      expect(refused.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      const again = await socket({ authorization: `Bearer ${short.data!.token}` });
      await until(() => again.closed, 5_000, 'the expired token to be refused at connection_init');
      expect(again.closed?.code).toBe(4403);
      // An expired token is not listed among the user's tokens.
      const listed = await t.gqlRaw('{ viewer { accessTokens { id } } }', undefined, user.token);
      expect(JSON.stringify(listed)).not.toContain(short.data!.accessToken.id);
    });

    it("disables a removed member's Rocket.Chat integrations with the reason in their history, so the organisation's messages stop reaching their server", async () => {
      const received: string[] = [];
      const remote = await startServer((req, res) => {
        received.push((req.json as { text: string }).text);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
      servers.push(remote);
      const user = await createUser(t, 'rc-user');
      const org = await createOrg(t, 'Rocket');
      const channel = await createChannel(t, org, 'general');
      await addMember(t, org, user.id, 'MEMBER');
      const rc = async (method: string, path: string, body: unknown, auth: { token: string; userId: string }) => {
        const res = await fetch(`${t.url}${path}`, {
          method,
          headers: { 'content-type': 'application/json', 'x-auth-token': auth.token, 'x-user-id': auth.userId, 'x-organisation-id': org },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as any };
      };
      const created = await rc(
        'POST',
        '/api/v1/integrations.create',
        { type: 'webhook-outgoing', username: 'leaker', channel: '#general', scriptEnabled: false, name: 'leaker', enabled: true, event: 'sendMessage', urls: [`${remote.url}/hook`] },
        { token: user.token, userId: user.id },
      );
      expect(created.status).toBe(200);
      const integrationId = created.body.integration._id as string;
      await fetch(`${channel.webhookUrl}?message=before-removal`);
      await until(() => received.includes('before-removal'), 10_000, 'the outgoing call before removal');

      await removeMember(t, org, user.id);
      await fetch(`${channel.webhookUrl}?message=after-removal`);
      await sleep(1_500);
      expect(received).not.toContain('after-removal');

      const admin = { token: ADMIN_TOKEN, userId: ((await t.gqlRaw('{ viewer { id } }')).data as { viewer: { id: string } }).viewer.id };
      const got = await rc('GET', `/api/v1/integrations.get?integrationId=${integrationId}`, undefined, admin);
      expect(got.body.integration).toMatchObject({ enabled: false, _createdBy: { _id: user.id } });
      const history = await rc('GET', `/api/v1/integrations.history?id=${integrationId}`, undefined, admin);
      expect(history.body.history[0]).toMatchObject({ step: 'disabled', error: true, errorStack: expect.stringMatching(/creator was removed from the organisation/) });

      // An admin re-enables it and takes it over.
      const { integration } = got.body;
      const updated = await rc(
        'PUT',
        '/api/v1/integrations.update',
        { type: 'webhook-outgoing', integrationId, username: integration.username, channel: '#general', scriptEnabled: false, name: integration.name, enabled: true, event: 'sendMessage', urls: integration.urls },
        admin,
      );
      expect(updated.status).toBe(200);
      expect(updated.body.integration).toMatchObject({ enabled: true, _createdBy: { _id: admin.userId } });
      await fetch(`${channel.webhookUrl}?message=re-enabled`);
      await until(() => received.includes('re-enabled'), 10_000, 'the outgoing call after re-enabling');
    });
  });
}

describe.skipIf(!postgresAvailable || !redisAvailable)('revocation across two gateway processes on one Redis and one PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let a: GatewayProcess;
  let b: GatewayProcess;
  const sockets: RawSocket[] = [];
  const streams: SseStream[] = [];

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    const env = { DATABASE_URL: database.url, REDIS_URL, SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN, OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8' };
    // One after the other (the first migrates the fresh database), with room for a busy machine.
    a = await spawnGateway(env, 120_000);
    b = await spawnGateway(env, 120_000);
  }, 300_000);

  afterAll(async () => {
    streams.forEach((s) => s.close());
    await Promise.all(sockets.map((s) => s.close()));
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  it('a token revoked on one replica closes its socket and ends its SSE stream on the other; a member removed there loses that organisation only', async () => {
    const onA = remoteGateway(a.url);
    const user = await createUser(onA, 'far-user');
    const orgX = await createOrg(onA, 'X');
    const orgY = await createOrg(onA, 'Y');
    const x = await createChannel(onA, orgX, 'x');
    const y = await createChannel(onA, orgY, 'y');
    await addMember(onA, orgX, user.id, 'MEMBER');
    await addMember(onA, orgY, user.id, 'MEMBER');
    const doomed = await newToken(onA, user.token);

    const revokedSocket = await openSocket(b.url, { authorization: `Bearer ${doomed.data!.token}` });
    revokedSocket.subscribe('1', SUBSCRIPTION, { c: x.id });
    const revokedStream = await openSse(b.url, doomed.data!.token, SUBSCRIPTION, { c: x.id });
    const member = await openSocket(b.url, { authorization: `Bearer ${user.token}` });
    member.subscribe('x', SUBSCRIPTION, { c: x.id });
    member.subscribe('y', SUBSCRIPTION, { c: y.id });
    const memberStreamX = await openSse(b.url, user.token, SUBSCRIPTION, { c: x.id });
    sockets.push(revokedSocket, member);
    streams.push(revokedStream, memberStreamX);
    // Messages enter through the first replica; the subscribers are on the second.
    await untilLive(`${a.url}/v1/webhooks/${x.id}`, () => revokedSocket.nexts('1').length > 0 && revokedStream.nexts.length > 0 && member.nexts('x').length > 0 && memberStreamX.nexts.length > 0);
    await untilLive(`${a.url}/v1/webhooks/${y.id}`, () => member.nexts('y').length > 0);

    const began = Date.now();
    await revokeToken(onA, doomed.data!.accessToken.id, user.token);
    await until(() => revokedSocket.closed && revokedStream.ended, 5_000, 'the other replica to end the revoked token');
    const tokenMs = Date.now() - began;
    expect(revokedSocket.closed?.code).toBe(4403);
    expect(revokedStream.nexts.at(-1)).toEqual(revokedError('token_revoked'));
    expect(member.closed).toBeNull();

    const removedAt = Date.now();
    await removeMember(onA, orgX, user.id);
    await until(() => member.completed('x') && memberStreamX.ended, 5_000, 'the other replica to end the removed membership');
    const memberMs = Date.now() - removedAt;
    expect(member.nexts('x').at(-1)).toEqual(revokedError('membership_removed'));
    expect(memberStreamX.nexts.at(-1)).toEqual(revokedError('membership_removed'));
    const seenY = member.nexts('y').length;
    await fetch(`${a.url}/v1/webhooks/${y.id}?message=y-goes-on`);
    await until(() => member.nexts('y').length > seenY, 5_000, 'Y to keep flowing on the other replica');
    expect(member.closed).toBeNull();
    console.log(`revocation across replicas: token ${tokenMs} ms, membership ${memberMs} ms`);
    expect(tokenMs).toBeLessThan(2_000);
    expect(memberMs).toBeLessThan(2_000);
  }, 60_000);
});
