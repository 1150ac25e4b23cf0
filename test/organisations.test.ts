import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './support/app.js';
import { addMember, createOrg, createUser } from './support/seed.js';
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

    it("keeps renaming and changing or removing an owner to owners (admins manage members and admins)", async () => {
      const olga = await createUser(t, 'olga');
      const otto = await createUser(t, 'otto');
      const ada = await createUser(t, 'ada');
      const mia = await createUser(t, 'mia');
      const orgId = await createOrg(t, 'Roles', olga.token);
      await addMember(t, orgId, 'otto', 'OWNER', olga.token, otto.token);
      await addMember(t, orgId, 'ada', 'ADMIN', olga.token, ada.token);
      const op = async (query: string, variables: Record<string, unknown>, token: string) =>
        Object.values(await t.gqlData<Record<string, { __typename: string; field?: string }>>(query, variables, token))[0];
      const rename = 'mutation($id: ID!, $name: String!) { renameOrganisation(input: { id: $id, name: $name }) { __typename ... on Error { message } } }';
      const set = 'mutation($o: ID!, $u: String!, $r: Role!) { setMember(input: { organisationId: $o, user: $u, role: $r }) { __typename ... on ConflictError { field } } }';
      const remove = 'mutation($o: ID!, $u: String!) { removeMember(input: { organisationId: $o, user: $u }) { __typename ... on ConflictError { field } } }';
      const roles = async () => {
        const r = await t.gqlRaw('query($id: ID!) { organisation(id: $id) { name members { role user { name } } } }', { id: orgId }, olga.token);
        return r.data;
      };
      const before = await roles();

      // The admin can do none of the owners' acts, and nothing changes.
      expect(await op(rename, { id: orgId, name: 'Taken over' }, ada.token)).toMatchObject({ __typename: 'ForbiddenError' });
      expect(await op(set, { o: orgId, u: 'otto', r: 'ADMIN' }, ada.token)).toMatchObject({ __typename: 'ForbiddenError' });
      expect(await op(set, { o: orgId, u: 'otto', r: 'MEMBER' }, ada.token)).toMatchObject({ __typename: 'ForbiddenError' });
      expect(await op(set, { o: orgId, u: otto.id, r: 'OWNER' }, ada.token)).toMatchObject({ __typename: 'ForbiddenError' });
      expect(await op(remove, { o: orgId, u: 'otto' }, ada.token)).toMatchObject({ __typename: 'ForbiddenError' });
      expect(await roles()).toEqual(before);

      // The admin manages members and admins: mia joins by invitation, then the admin changes her role.
      expect(await op(set, { o: orgId, u: 'mia', r: 'ADMIN' }, ada.token)).toMatchObject({ __typename: 'NotFoundError' });
      await addMember(t, orgId, 'mia', 'MEMBER', ada.token, mia.token);
      expect(await op(set, { o: orgId, u: 'mia', r: 'ADMIN' }, ada.token)).toMatchObject({ __typename: 'MutationSetMemberSuccess' });
      expect(await op(set, { o: orgId, u: 'mia', r: 'MEMBER' }, ada.token)).toMatchObject({ __typename: 'MutationSetMemberSuccess' });
      expect(await op(remove, { o: orgId, u: mia.id }, ada.token)).toMatchObject({ __typename: 'MutationRemoveMemberSuccess' });

      // Owners rename, demote and remove owners, and the last owner stays.
      expect(await op(rename, { id: orgId, name: 'Renamed' }, otto.token)).toMatchObject({ __typename: 'MutationRenameOrganisationSuccess' });
      expect(await op(set, { o: orgId, u: 'otto', r: 'ADMIN' }, olga.token)).toMatchObject({ __typename: 'MutationSetMemberSuccess' });
      expect(await op(set, { o: orgId, u: 'olga', r: 'ADMIN' }, olga.token)).toEqual({ __typename: 'ConflictError', field: 'role' });
      expect(await op(remove, { o: orgId, u: 'olga' }, olga.token)).toEqual({ __typename: 'ConflictError', field: 'user' });
      expect(await op(remove, { o: orgId, u: 'otto' }, olga.token)).toMatchObject({ __typename: 'MutationRemoveMemberSuccess' });
      expect(await roles()).toEqual({
        organisation: { name: 'Renamed', members: [{ role: 'OWNER', user: { name: 'olga' } }, { role: 'ADMIN', user: { name: 'ada' } }] },
      });
    });
  });
}
