import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './support/app.js';
import { addMember, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';

const CreateToken = graphql(`
  mutation CreateToken($name: String!) {
    createAccessToken(input: { name: $name }) {
      __typename
      ... on MutationCreateAccessTokenSuccess { data { token accessToken { id name hint } } }
      ... on ValidationError { field message }
    }
  }
`);

const RevokeToken = graphql(`
  mutation RevokeToken($id: ID!) { revokeAccessToken(input: { id: $id }) { __typename ... on Error { message } } }
`);

const Members = graphql(`
  query Members($id: ID!) { organisation(id: $id) { viewerRole members { role user { name } } } }
`);

const RemoveMember = graphql(`
  mutation RemoveMember($organisationId: ID!, $user: String!) {
    removeMember(input: { organisationId: $organisationId, user: $user }) { __typename ... on Error { message } ... on ConflictError { field } }
  }
`);

const Rename = graphql(`
  mutation RenameOrg($id: ID!, $name: String!) {
    renameOrganisation(input: { id: $id, name: $name }) { __typename ... on MutationRenameOrganisationSuccess { data { name } } ... on Error { message } }
  }
`);

describe('first start', () => {
  it('creates the admin with a one-time token, hashed at rest, and never again', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sb-boot-'));
    const env = { PORT: '0', HOST: '127.0.0.1', SWITCHBOARD_DATA_DIR: dir, LOG_LEVEL: 'silent', SWITCHBOARD_ADMIN_TOKEN: '' };
    const first = await buildApp(loadConfig(env));
    const url = await first.start();
    const token = first.bootstrapToken;
    expect(token).toMatch(/^sb_[A-Za-z0-9_-]{40,}$/);
    const rows = await first.orm.em.getConnection().execute('select token_hash, hint from access_tokens');
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token!.slice(3, 20));
    expect(rows[0].hint).toBe(token!.slice(-4));
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ viewer { name isAdmin } }' }),
    });
    expect(await res.json()).toEqual({ data: { viewer: { name: 'admin', isAdmin: true } } });
    await first.stop();

    const second = await buildApp(loadConfig(env));
    expect(second.bootstrapToken).toBeNull();
    await second.stop();
  });
});

for (const db of databases) {
  describe(`tokens and members (${db})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(db);
    });
    afterAll(() => t.close());

    it('issues tokens shown once, and revokes them', async () => {
      const r = await t.gql(CreateToken, { name: 'ci' });
      if (r.createAccessToken.__typename !== 'MutationCreateAccessTokenSuccess') throw new Error(JSON.stringify(r));
      const { token, accessToken } = r.createAccessToken.data;
      expect((await t.gqlRaw('{ viewer { name } }', undefined, token)).data).toEqual({ viewer: { name: 'admin' } });
      await t.gql(RevokeToken, { id: accessToken.id });
      const denied = await t.gqlRaw('{ organisations { id } }', undefined, token);
      expect(denied.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      const empty = await t.gql(CreateToken, { name: ' ' });
      expect(empty.createAccessToken).toEqual({ __typename: 'ValidationError', field: 'name', message: 'name is required' });
    });

    it('manages members by role and keeps an owner', async () => {
      const carol = await createUser(t, 'carol');
      const dave = await createUser(t, 'dave');
      const orgId = await createOrg(t, 'Members', carol.token);
      await addMember(t, orgId, 'dave', 'ADMIN', carol.token, dave.token);
      const members = await t.gql(Members, { id: orgId }, dave.token);
      expect(members.organisation).toEqual({
        viewerRole: 'ADMIN',
        members: [
          { role: 'OWNER', user: { name: 'carol' } },
          { role: 'ADMIN', user: { name: 'dave' } },
        ],
      });
      // An admin cannot make owners or rename; an owner cannot leave the organisation ownerless.
      await expect(addMember(t, orgId, dave.id, 'OWNER', dave.token)).rejects.toThrow(/ForbiddenError/);
      expect((await t.gql(Rename, { id: orgId, name: 'Renamed' }, dave.token)).renameOrganisation).toMatchObject({ __typename: 'ForbiddenError' });
      expect((await t.gql(Rename, { id: orgId, name: 'Renamed' }, carol.token)).renameOrganisation).toMatchObject({ data: { name: 'Renamed' } });
      const lastOwner = await t.gql(RemoveMember, { organisationId: orgId, user: 'carol' }, carol.token);
      expect(lastOwner.removeMember).toMatchObject({ __typename: 'ConflictError', field: 'user' });
      const unknown = await t.gql(RemoveMember, { organisationId: orgId, user: 'nobody' }, carol.token);
      expect(unknown.removeMember.__typename).toBe('NotFoundError');
      const removed = await t.gql(RemoveMember, { organisationId: orgId, user: dave.id }, carol.token);
      expect(removed.removeMember.__typename).toBe('MutationRemoveMemberSuccess');
      expect((await t.gql(Members, { id: orgId }, dave.token)).organisation).toBeNull();
    });
  });
}
