/**
 * The compiled executor (src/graphql/executor.ts): a document's first run is graphql-js's, later runs are
 * compiled; every run answers the same, over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { createChannel, createOrg } from './support/seed.js';

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
