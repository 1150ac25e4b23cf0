import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './support/app.js';
import { databases } from './support/services.js';

const CreateOrg = graphql(`
  mutation CreateOrg($name: String!) {
    createOrganisation(input: { name: $name }) {
      __typename
      ... on MutationCreateOrganisationSuccess { data { id name viewerRole } }
      ... on ValidationError { field message }
    }
  }
`);

const CreateChannel = graphql(`
  mutation CreateChannel($organisationId: ID!, $name: String!, $description: String) {
    createChannel(input: { organisationId: $organisationId, name: $name, description: $description }) {
      __typename
      ... on MutationCreateChannelSuccess { data { id name description webhookUrl organisationId } }
      ... on Error { message }
      ... on ValidationError { field }
    }
  }
`);

const Channels = graphql(`
  query Channels($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    organisation(id: $id) {
      id
      channels(first: $first, after: $after, last: $last, before: $before) {
        totalCount
        edges { cursor node { id name } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    }
  }
`);

const UpdateChannel = graphql(`
  mutation UpdateChannel($id: ID!, $name: String) {
    updateChannel(input: { id: $id, name: $name }) {
      __typename
      ... on MutationUpdateChannelSuccess { data { id name } }
      ... on Error { message }
    }
  }
`);

const DeleteChannel = graphql(`
  mutation DeleteChannel($id: ID!) {
    deleteChannel(input: { id: $id }) {
      __typename
      ... on MutationDeleteChannelSuccess { data { id } }
      ... on Error { message }
    }
  }
`);

const CreateUser = graphql(`
  mutation CreateUser($name: String!) {
    createUser(input: { name: $name }) {
      __typename
      ... on MutationCreateUserSuccess { data { token user { id name } accessToken { hint } } }
      ... on Error { message }
    }
  }
`);

const Viewer = graphql(`
  query Viewer { viewer { id name isAdmin accessTokens { name hint } } organisations { id name } }
`);

for (const db of databases) {
  describe(`organisations and channels (${db})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(db);
    });
    afterAll(() => t.close());

    it('refuses anonymous and unknown tokens', async () => {
      const anon = await t.gqlRaw('{ organisations { id } }', undefined, null);
      expect(anon.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      const bad = await t.gqlRaw('{ organisations { id } }', undefined, 'sb_not_a_token');
      expect(bad.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('creates an organisation owned by its creator, and names the bad field', async () => {
      const ok = await t.gql(CreateOrg, { name: 'Acme' });
      expect(ok.createOrganisation).toMatchObject({ __typename: 'MutationCreateOrganisationSuccess', data: { name: 'Acme', viewerRole: 'OWNER' } });
      const bad = await t.gql(CreateOrg, { name: '   ' });
      expect(bad.createOrganisation).toEqual({ __typename: 'ValidationError', field: 'name', message: 'name is required' });
    });

    it('creates, pages, renames and deletes channels', async () => {
      const org = await t.gql(CreateOrg, { name: 'Paging' });
      const orgId = org.createOrganisation.__typename === 'MutationCreateOrganisationSuccess' ? org.createOrganisation.data.id : '';
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await t.gql(CreateChannel, { organisationId: orgId, name: `c${i}` });
        if (r.createChannel.__typename !== 'MutationCreateChannelSuccess') throw new Error(JSON.stringify(r));
        expect(r.createChannel.data.webhookUrl).toBe(`${t.url}/v1/webhooks/${r.createChannel.data.id}`);
        ids.push(r.createChannel.data.id);
      }
      const page1 = await t.gql(Channels, { id: orgId, first: 2 });
      expect(page1.organisation?.channels.totalCount).toBe(5);
      expect(page1.organisation?.channels.edges.map((e) => e.node.name)).toEqual(['c0', 'c1']);
      expect(page1.organisation?.channels.pageInfo.hasNextPage).toBe(true);
      const page2 = await t.gql(Channels, { id: orgId, first: 2, after: page1.organisation?.channels.pageInfo.endCursor });
      expect(page2.organisation?.channels.edges.map((e) => e.node.name)).toEqual(['c2', 'c3']);
      const back = await t.gql(Channels, { id: orgId, last: 1, before: page2.organisation?.channels.pageInfo.startCursor });
      expect(back.organisation?.channels.edges.map((e) => e.node.name)).toEqual(['c1']);

      const badCursor = await t.gqlRaw('query($id: ID!) { organisation(id: $id) { channels(after: "garbage") { totalCount } } }', { id: orgId });
      expect(badCursor.errors?.[0].message).toMatch(/after is not a cursor/);

      const renamed = await t.gql(UpdateChannel, { id: ids[0], name: 'general' });
      expect(renamed.updateChannel).toMatchObject({ data: { id: ids[0], name: 'general' } });
      const deleted = await t.gql(DeleteChannel, { id: ids[1] });
      expect(deleted.deleteChannel).toMatchObject({ data: { id: ids[1] } });
      const after = await t.gql(Channels, { id: orgId });
      expect(after.organisation?.channels.edges.map((e) => e.node.name)).toEqual(['general', 'c2', 'c3', 'c4']);
    });

    it('lets an admin create users whose tokens work once created, shown once', async () => {
      const r = await t.gql(CreateUser, { name: 'alice' });
      if (r.createUser.__typename !== 'MutationCreateUserSuccess') throw new Error(JSON.stringify(r));
      const token = r.createUser.data.token;
      expect(r.createUser.data.accessToken.hint).toBe(token.slice(-4));
      const viewer = await t.gql(Viewer, undefined, token);
      expect(viewer.viewer).toMatchObject({ name: 'alice', isAdmin: false, accessTokens: [{ name: 'initial', hint: token.slice(-4) }] });
      expect(JSON.stringify(viewer)).not.toContain(token);
      expect(viewer.organisations).toEqual([]);
      const notAdmin = await t.gql(CreateUser, { name: 'mallory' }, token);
      expect(notAdmin.createUser).toMatchObject({ __typename: 'ForbiddenError' });
    });
  });
}
