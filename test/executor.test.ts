/**
 * The compiled executor (src/graphql/executor.ts): a document's first run is graphql-js's, later runs are
 * compiled (a shared subscription's from its first event); every run answers the same, over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { openSocket } from './support/live.js';
import { serveJson, type LocalServer } from './support/http-server.js';
import { addIntegration, createChannel, createOrg } from './support/seed.js';
import { until } from './support/wait.js';

const RUNS = 4;

describe('compiled GraphQL execution', () => {
  let t: TestApp;
  let organisationId: string;

  beforeAll(async () => {
    t = await startTestApp('sqlite');
    organisationId = await createOrg(t, 'jit');
    for (const name of ['a', 'b', 'c']) await createChannel(t, organisationId, name);
  });
  afterAll(() => t.close());

  async function channelIdsOf(org: string) {
    const read = await t.gqlData<{ organisation: { channels: { edges: { node: { id: string } }[] } } }>('query($id: ID!) { organisation(id: $id) { channels(first: 100) { edges { node { id } } } } }', { id: org });
    return read.organisation.channels.edges.map((e) => e.node.id);
  }
  const channelIds = () => channelIdsOf(organisationId);

  async function channelNames() {
    const read = await t.gqlData<{ organisation: { channels: { edges: { node: { name: string } }[] } } }>('query($id: ID!) { organisation(id: $id) { channels(first: 100) { edges { node { name } } } } }', { id: organisationId });
    return read.organisation.channels.edges.map((e) => e.node.name);
  }

  /** The raw answers of `RUNS` runs of one document, in order. */
  async function runs(query: string, variables?: Record<string, unknown>) {
    const answers: string[] = [];
    for (let i = 0; i < RUNS; i++) answers.push(JSON.stringify(await t.gqlRaw(query, variables)));
    return answers;
  }

  it('answers a nested read with aliases, fragments, variables, directives and errors the same on every run', async () => {
    const query = `
      query Read($id: ID!, $first: Int!, $withName: Boolean!, $missing: ID!) {
        organisation(id: $id) {
          __typename
          ...Org
          list: channels(first: $first) { edges { node { id label: name @include(if: $withName) organisationId } } pageInfo { hasNextPage } }
        }
        nothing: organisation(id: $missing) { id }
      }
      fragment Org on Organisation { id name viewerRole }`;
    const answers = await runs(query, { id: organisationId, first: 2, withName: true, missing: '00000000-0000-4000-8000-000000000000' });
    expect(new Set(answers).size).toBe(1);
    const answer = JSON.parse(answers[0]!) as { data: { organisation: { name: string; list: { edges: { node: { label: string } }[]; pageInfo: { hasNextPage: boolean } } } } };
    expect(answer.data.organisation.name).toBe('jit');
    expect(answer.data.organisation.list.edges.map((e) => e.node.label)).toHaveLength(2);
    expect(answer.data.organisation.list.pageInfo.hasNextPage).toBe(true);
  });

  it("batches its loads as graphql-js does: the same SQL statements on every run, however long the lists", async () => {
    const spec = (i: number) => ({
      data: {
        descriptions: { app_name: `Loader ${i}` },
        integration_type: 'output',
        is_active: false,
        settings: [0, 1].map((s) => ({ label: `s${s}`, type: 'text', required: false, default: `d${s}` })),
        target_url: 'https://example.com/out',
      },
    });
    const specs: LocalServer = await serveJson({ '/0.json': spec(0), '/1.json': spec(1) });
    try {
      const small = await createOrg(t, 'loads-small');
      const large = await createOrg(t, 'loads-large');
      for (const [org, channels] of [[small, 1], [large, 4]] as const) {
        for (let c = 0; c < channels; c++) await createChannel(t, org, `c${c}`);
        for (const i of channels === 1 ? [0] : [0, 1]) {
          const integrationId = await addIntegration(t, org, `${specs.url}/${i}.json`);
          await t.gqlData('mutation($i: ID!, $v: JSON) { setIntegrationSetting(input: { integrationId: $i, label: "s0", value: $v }) { __typename } }', { i: integrationId, v: 'org' });
          for (const channelId of await channelIdsOf(org)) {
            await t.gqlData('mutation($i: ID!, $c: ID!) { enableIntegration(input: { integrationId: $i, channelId: $c }) { __typename } }', { i: integrationId, c: channelId });
            await t.gqlData('mutation($i: ID!, $c: ID!) { setChannelIntegrationSetting(input: { integrationId: $i, channelId: $c, label: "s1", value: "chan" }) { __typename } }', { i: integrationId, c: channelId });
          }
        }
      }
      const query = `query($id: ID!) { organisation(id: $id) { channels(first: 10) { edges { node { name integrations {
        position integration { appName settings { label value } } settings { label value } effectiveSettings { label value source } } } } } } }`;
      // Statements on the tables this read touches (background jobs use others), run by run.
      const tables = /\b(organisations|memberships|channels|channel_integrations|integrations|integration_settings|channel_integration_settings)\b/;
      let statements = 0;
      const knex = (t.app.orm.em.getConnection() as unknown as { getKnex(): { on(e: string, f: (q: { sql: string }) => void): void; off(e: string, f: unknown): void } }).getKnex();
      const count = (q: { sql: string }) => void (tables.test(q.sql) && statements++);
      knex.on('query', count);
      const perRun = async (id: string) => {
        const counts: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          statements = 0;
          const answer = await t.gqlRaw(query, { id });
          expect(answer.errors).toBeUndefined();
          counts.push(statements);
        }
        return counts;
      };
      const smallCounts = await perRun(small);
      const largeCounts = await perRun(large);
      knex.off('query', count);
      expect(smallCounts.every((n) => n === smallCounts[0])).toBe(true);
      expect(largeCounts).toEqual(smallCounts);
    } finally {
      await specs.close();
    }
  });

  it('answers tricky documents as graphql-js does: directives on spreads, unions, enums, scalars, lists, introspection', async () => {
    const sent = await t.gqlData<{ sendMessage: { __typename: string } }>(
      'mutation($c: ID!) { sendMessage(input: { channelId: $c, message: "hello", eventName: "e", status: "ok", username: "u" }) { __typename } }',
      { c: (await channelIds())[0] },
    );
    expect(sent.sendMessage.__typename).toBe('MutationSendMessageSuccess');
    const documents: [string, Record<string, unknown>][] = [
      [
        `query($id: ID!, $on: Boolean!, $off: Boolean!) {
          organisation(id: $id) {
            ...Names @include(if: $on)
            ...Ids @skip(if: $on)
            ... on Organisation @include(if: $off) { viewerRole }
            channels(first: 5) { edges { node { ...Names @skip(if: $off) messages(last: 2) { edges { cursor node { id seq createdAt eventName userId modifiersApplied attachments { title } } } } } } }
          }
        }
        fragment Names on Node { __typename ... on Organisation { name } ... on Channel { name } }
        fragment Ids on Node { id }`,
        { id: organisationId, on: true, off: false },
      ],
      ['query($id: ID!, $type: IntegrationType) { organisation(id: $id) { a: integrations(type: $type) { id } b: integrations(active: true) { id } c: integrations { id } } }', { id: organisationId, type: 'OUTPUT' }],
      ['query($id: ID!) { organisation(id: $id) { channels(first: 2, after: "not-a-cursor") { edges { node { id } } } } }', { id: organisationId }],
      ['{ organisations { name } viewer { __typename } organisation(id: "not-a-uuid") { id } channel(id: "00000000-0000-4000-8000-000000000000") { id } }', {}],
      ['{ __schema { queryType { name } types { name kind fields(includeDeprecated: true) { name args { name defaultValue } } } } }', {}],
      ['{ __type(name: "Message") { name fields { name type { kind name ofType { kind name } } } } }', {}],
      [`mutation($id: ID!, $value: JSON) {
          ok: createChannel(input: { organisationId: $id, name: "s" }) { __typename ... on MutationCreateChannelSuccess { data { name description } } }
          bad: createChannel(input: { organisationId: "00000000-0000-4000-8000-000000000000", name: "s" }) { __typename ... on Error { message } ... on NotFoundError { message } }
          set: setIntegrationSetting(input: { integrationId: "00000000-0000-4000-8000-000000000000", label: "x", value: $value }) { __typename ... on Error { message } }
        }`, { id: organisationId, value: { nested: [1, 'two', null, true] } }],
    ];
    for (const [query, variables] of documents) {
      const answers = await runs(query, variables);
      // The first run is graphql-js's; every compiled run answers the same bytes (for mutations: the same shape).
      const same = (a: string) => (query.trimStart().startsWith('mutation') ? a.replace(/"[0-9a-f-]{36}"/g, '"<uuid>"') : a);
      expect(answers.map(same), query).toEqual(Array(RUNS).fill(same(answers[0]!)));
    }
  });

  it('runs mutations, error unions included, the same on every run', async () => {
    const query = `mutation($id: ID!) {
      first: createChannel(input: { organisationId: $id, name: "m1" }) { __typename ... on MutationCreateChannelSuccess { data { name } } }
      empty: createChannel(input: { organisationId: $id, name: "" }) { __typename ... on ValidationError { field message } }
      second: createChannel(input: { organisationId: $id, name: "m2" }) { __typename ... on MutationCreateChannelSuccess { data { name } } }
    }`;
    const answers = await runs(query, { id: organisationId });
    expect(new Set(answers).size).toBe(1);
    expect(JSON.parse(answers[0]!)).toEqual({
      data: {
        first: { __typename: 'MutationCreateChannelSuccess', data: { name: 'm1' } },
        empty: { __typename: 'ValidationError', field: 'name', message: 'name is required' },
        second: { __typename: 'MutationCreateChannelSuccess', data: { name: 'm2' } },
      },
    });
    const names = await channelNames();
    expect(names.filter((n) => n === 'm1')).toHaveLength(RUNS);
    expect(names.filter((n) => n === 'm2')).toHaveLength(RUNS);
  });

  it("refuses variables of the wrong type with graphql-js's message, naming the path inside the variable", async () => {
    const query = 'mutation($input: CreateChannelInput!) { createChannel(input: $input) { __typename } }';
    await runs(query, { input: { organisationId, name: 'fine' } });
    const answers = await runs(query, { input: { organisationId, name: { x: 1 } } });
    expect(new Set(answers).size).toBe(1);
    const { errors } = JSON.parse(answers[0]!) as { errors: { message: string }[] };
    expect(errors[0]!.message).toContain('Variable "$input" got invalid value');
    expect(errors[0]!.message).toContain('at "input.name"');
  });

  it("runs a shared subscription's events compiled from the first (compiled when subscribed), as graphql-js reads the same messages", async () => {
    const channel = await createChannel(t, organisationId, 'live-jit');
    const socket = await openSocket(t.url, { authorization: 'Bearer sb_test_admin_token_0123456789abcdef' });
    try {
      const selection = `__typename id seq createdAt channelId organisationId eventName username status message source userId
        modifiersApplied alias avatar emoji recovered attachments { title text raw fields { title value short } }
        also: message @include(if: $on) never: id @skip(if: $on)`;
      socket.subscribe('all', `subscription All($c: ID!, $on: Boolean!) { channelMessages(channelId: $c) { ${selection} } }`, { c: channel.id, on: true });
      await new Promise((r) => setTimeout(r, 300));
      const texts = Array.from({ length: RUNS }, (_, i) => `event ${i}`);
      for (const text of texts) {
        const posted = await fetch(`${t.url}/v1/webhooks/${channel.id}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ event_name: 'jit', username: 'differ', status: 'success', message: text }),
        });
        expect(posted.status).toBe(202);
      }
      await until(() => socket.nexts('all').length >= RUNS, 10_000, 'every event');
      const events = socket.nexts('all') as { data: { channelMessages: Record<string, unknown> } }[];
      expect(events.map((e) => e.data.channelMessages.message)).toEqual(texts);
      // What differs from one message to the next set aside, every event is the same bytes, keys in the same order.
      const shapes = events.map(({ data: { channelMessages: m } }) => JSON.stringify({ ...m, id: 'id', seq: 0, createdAt: 'at', message: 'text', also: 'text' }));
      expect(new Set(shapes).size).toBe(1);
      expect(events[RUNS - 1]).toEqual({
        data: {
          channelMessages: expect.objectContaining({
            __typename: 'Message', channelId: channel.id, organisationId, eventName: 'jit', username: 'differ', status: 'success', source: 'webhook',
            modifiersApplied: [], alias: null, avatar: null, emoji: null, recovered: null, attachments: [], also: `event ${RUNS - 1}`,
          }),
        },
      });
      expect(events.every((e) => typeof e.data.channelMessages.seq === 'number' && !Number.isNaN(Date.parse(e.data.channelMessages.createdAt as string)))).toBe(true);
      expect(events.every((e) => !('never' in e.data.channelMessages))).toBe(true);
      // The same selection on the stored messages, by a query document's first run (graphql-js): the same bytes.
      const read = await t.gqlRaw(`query Read($c: ID!, $on: Boolean!) { messages(channelId: $c) { edges { node { ${selection} } } } }`, { c: channel.id, on: true });
      expect(JSON.stringify(read)).toBe(JSON.stringify({ data: { messages: { edges: events.map((e) => ({ node: e.data.channelMessages })) } } }));
    } finally {
      await socket.close();
    }
  });

  it("never runs a string literal shaped like graphql-jit's code markers", async () => {
    const probe = globalThis as { switchboardJitProbe?: unknown };
    for (const marker of ['__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d', '__MAGIC_NAN__57f286b9_4c20_487f_b409_79804ddcb4f8']) {
      // As a literal argument, escaped in the document, and nested in an input object.
      const queries = [
        `{ organisation(id: "${marker}(globalThis.switchboardJitProbe=1)") { id } }`,
        `{ organisation(id: "\\u005f_MAGIC${marker.slice(7)}(globalThis.switchboardJitProbe=2)") { id } }`,
        `mutation { createChannel(input: { organisationId: "${organisationId}", name: "${marker}(globalThis.switchboardJitProbe=3)" }) { __typename } }`,
      ];
      for (const query of queries) {
        const answers = await runs(query);
        expect(probe.switchboardJitProbe).toBeUndefined();
        expect(answers[RUNS - 1]).toBe(answers[1]);
      }
    }
    // The name was stored as the text it is.
    expect(await channelNames()).toContain('__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d(globalThis.switchboardJitProbe=3)');
  });
});
