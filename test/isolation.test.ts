import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentedModifier } from './fixtures/specs.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './support/app.js';
import { serveJson, type LocalServer } from './support/http-server.js';
import { addIntegration, addMember, createChannel, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';

const SetChannelSettingB = graphql(`
  mutation IsoSetChannelSetting($integrationId: ID!, $channelId: ID!) {
    setChannelIntegrationSetting(input: { integrationId: $integrationId, channelId: $channelId, label: "Key", value: "b-secret-value" }) {
      __typename
      ... on MutationSetChannelIntegrationSettingSuccess { data { id } }
    }
  }
`);

const OrgSnapshot = graphql(`
  query IsoSnapshot($id: ID!) {
    organisation(id: $id) {
      name
      members { role user { name } }
      channels { edges { node { id name description integrations { position integration { id name isActive } settings { label value } } } } }
      integrations { id name isActive jsonUrl settings { label value } }
    }
  }
`);

for (const db of databases) {
  describe(`organisation isolation (${db})`, () => {
    let t: TestApp;
    let specs: LocalServer;
    let alice: { id: string; token: string };
    let bob: { id: string; token: string };
    const A = { org: '', channel: '', integration: '' };
    const B = { org: '', channel: '', integration: '', setting: '' };

    beforeAll(async () => {
      t = await startTestApp(db);
      specs = await serveJson({ '/modifier.json': documentedModifier('https://example.com/hook') });
      alice = await createUser(t, 'alice');
      bob = await createUser(t, 'bob');
      A.org = await createOrg(t, 'Org A', alice.token);
      A.channel = (await createChannel(t, A.org, 'a-general', alice.token)).id;
      A.integration = await addIntegration(t, A.org, `${specs.url}/modifier.json`, alice.token);
      B.org = await createOrg(t, 'Org B', bob.token);
      B.channel = (await createChannel(t, B.org, 'b-general', bob.token)).id;
      B.integration = await addIntegration(t, B.org, `${specs.url}/modifier.json`, bob.token);
      const s = await t.gql(SetChannelSettingB, { integrationId: B.integration, channelId: B.channel }, bob.token);
      B.setting = s.setChannelIntegrationSetting.__typename === 'MutationSetChannelIntegrationSettingSuccess' ? s.setChannelIntegrationSetting.data.id : '';
    });
    afterAll(async () => {
      await specs.close();
      await t.close();
    });

    it('answers null for every organisation-B id read by a member of A', async () => {
      const r = await t.gqlRaw(
        `query($org: ID!, $ch: ID!, $int: ID!) { organisation(id: $org) { id } channel(id: $ch) { id } integration(id: $int) { id } }`,
        { org: B.org, ch: B.channel, int: B.integration },
        alice.token,
      );
      expect(r).toEqual({ data: { organisation: null, channel: null, integration: null } });
      const mine = await t.gqlRaw('{ organisations { id } }', undefined, alice.token);
      expect(mine).toEqual({ data: { organisations: [{ id: A.org }] } });
    });

    it('refuses every mutation on organisation-B ids as not found, and changes nothing', async () => {
      const before = await t.gql(OrgSnapshot, { id: B.org }, bob.token);
      const tries: [string, string][] = [
        ['renameOrganisation', 'renameOrganisation(input: { id: $org, name: "pwned" })'],
        ['createChannel', 'createChannel(input: { organisationId: $org, name: "x" })'],
        ['updateChannel', 'updateChannel(input: { id: $bch, name: "pwned" })'],
        ['deleteChannel', 'deleteChannel(input: { id: $bch })'],
        ['addIntegration', 'addIntegration(input: { organisationId: $org, jsonUrl: $url })'],
        ['refreshIntegration', 'refreshIntegration(input: { id: $bint })'],
        ['updateIntegration', 'updateIntegration(input: { id: $bint, isActive: false })'],
        ['removeIntegration', 'removeIntegration(input: { id: $bint })'],
        ['setIntegrationSetting', 'setIntegrationSetting(input: { integrationId: $bint, label: "Key", value: "x" })'],
        ['setChannelIntegrationSetting', 'setChannelIntegrationSetting(input: { integrationId: $bint, channelId: $bch, label: "Key", value: "x" })'],
        ['setChannelIntegrationSetting', 'setChannelIntegrationSetting(input: { integrationId: $aint, channelId: $bch, label: "Key", value: "x" })'],
        ['setChannelIntegrationSetting', 'setChannelIntegrationSetting(input: { integrationId: $bint, channelId: $ach, label: "Key", value: "x" })'],
        ['deleteChannelIntegrationSetting', 'deleteChannelIntegrationSetting(input: { id: $bset })'],
        ['enableIntegration', 'enableIntegration(input: { integrationId: $bint, channelId: $bch })'],
        ['enableIntegration', 'enableIntegration(input: { integrationId: $aint, channelId: $bch })'],
        ['enableIntegration', 'enableIntegration(input: { integrationId: $bint, channelId: $ach })'],
        ['disableIntegration', 'disableIntegration(input: { integrationId: $bint, channelId: $bch })'],
        ['setMember', 'setMember(input: { organisationId: $org, user: "alice", role: OWNER })'],
        ['removeMember', 'removeMember(input: { organisationId: $org, user: "bob" })'],
      ];
      const vars = { org: B.org, bch: B.channel, bint: B.integration, bset: B.setting, aint: A.integration, ach: A.channel, url: `${specs.url}/modifier.json` };
      for (const [name, call] of tries) {
        const used = Object.keys(vars).filter((k) => call.includes(`$${k} `) || call.includes(`$${k})`) || call.includes(`$${k},`));
        const decl = used.map((k) => `$${k}: ${k === 'url' ? 'String' : 'ID'}!`).join(', ');
        const picked = Object.fromEntries(used.map((k) => [k, vars[k as keyof typeof vars]]));
        const r = await t.gqlRaw(`mutation(${decl}) { r: ${call} { __typename ... on Error { message } } }`, picked, alice.token);
        expect(r.errors, name).toBeUndefined();
        expect((r.data as { r: { __typename: string } }).r.__typename, `${name}: ${call}`).toBe('NotFoundError');
        expect(JSON.stringify(r)).not.toContain('b-secret-value');
      }
      const after = await t.gql(OrgSnapshot, { id: B.org }, bob.token);
      expect(after).toEqual(before);
    });

    it('lets a plain member read but not change, with a forbidden error', async () => {
      await addMember(t, A.org, bob.id, 'MEMBER', alice.token, bob.token);
      const read = await t.gqlRaw('query($id: ID!) { channel(id: $id) { id } }', { id: A.channel }, bob.token);
      expect(read).toEqual({ data: { channel: { id: A.channel } } });
      const write = await t.gqlRaw('mutation($id: ID!) { r: deleteChannel(input: { id: $id }) { __typename } }', { id: A.channel }, bob.token);
      expect(write).toEqual({ data: { r: { __typename: 'ForbiddenError' } } });
    });

    it('treats malformed ids as not found, never as an error', async () => {
      const r = await t.gqlRaw(`{ organisation(id: "1; drop table users") { id } channel(id: "") { id } integration(id: "zz") { id } }`, undefined, alice.token);
      expect(r).toEqual({ data: { organisation: null, channel: null, integration: null } });
    });
  });
}
