import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentedModifier } from './fixtures/specs.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './support/app.js';
import { serveJson, type LocalServer } from './support/http-server.js';
import { addIntegration, createChannel, createOrg } from './support/seed.js';
import { databases } from './support/services.js';

const SetOrgSetting = graphql(`
  mutation SetOrgSetting($integrationId: ID!, $label: String!, $value: JSON) {
    setIntegrationSetting(input: { integrationId: $integrationId, label: $label, value: $value }) {
      __typename
      ... on MutationSetIntegrationSettingSuccess { data { id label value } }
      ... on ValidationError { field message }
      ... on Error { message }
    }
  }
`);

const SetChannelSetting = graphql(`
  mutation SetChannelSetting($integrationId: ID!, $channelId: ID!, $label: String!, $value: JSON) {
    setChannelIntegrationSetting(input: { integrationId: $integrationId, channelId: $channelId, label: $label, value: $value }) {
      __typename
      ... on MutationSetChannelIntegrationSettingSuccess { data { id label value channel { id } } }
      ... on ValidationError { field message }
      ... on Error { message }
    }
  }
`);

const DeleteChannelSetting = graphql(`
  mutation DeleteChannelSetting($id: ID!) {
    deleteChannelIntegrationSetting(input: { id: $id }) { __typename ... on Error { message } }
  }
`);

const Effective = graphql(`
  query Effective($id: ID!, $channelId: ID) {
    integration(id: $id) {
      settings { label value }
      effectiveSettings(channelId: $channelId) { label type value source }
    }
  }
`);

for (const db of databases) {
  describe(`integration settings (${db})`, () => {
    let t: TestApp;
    let specs: LocalServer;
    let integrationId: string;
    let channelId: string;
    let otherChannelId: string;

    beforeAll(async () => {
      t = await startTestApp(db);
      specs = await serveJson({ '/modifier.json': documentedModifier('https://example.com/hook') });
      const orgId = await createOrg(t, 'Settings');
      channelId = (await createChannel(t, orgId, 'one')).id;
      otherChannelId = (await createChannel(t, orgId, 'two')).id;
      integrationId = await addIntegration(t, orgId, `${specs.url}/modifier.json`);
    });
    afterAll(async () => {
      await specs.close();
      await t.close();
    });

    const setOrg = async (label: string, value: unknown) => (await t.gql(SetOrgSetting, { integrationId, label, value })).setIntegrationSetting;

    it('types values by the setting type', async () => {
      expect(await setOrg('Provide Speed', '250')).toMatchObject({ data: { label: 'Provide Speed', value: 250 } });
      expect(await setOrg('Provide Speed', 300)).toMatchObject({ data: { value: 300 } });
      expect(await setOrg('Do you want to continue', 'No')).toMatchObject({ data: { value: false } });
      expect(await setOrg('Alert Admin', ['Admin', 'Manager'])).toMatchObject({ data: { value: ['Admin', 'Manager'] } });
      expect(await setOrg('Alert Admin', 'Developer, Admin')).toMatchObject({ data: { value: ['Developer', 'Admin'] } });
    });

    it('refuses values the spec cannot take, naming the field', async () => {
      expect(await setOrg('Provide Speed', 'fast')).toEqual({ __typename: 'ValidationError', field: 'value', message: '"Provide Speed": "fast" is not a number' });
      expect(await setOrg('Gender', 'Other')).toEqual({
        __typename: 'ValidationError',
        field: 'value',
        message: '"Gender": "Other" is not one of the options (Male, Female)',
      });
      expect(await setOrg('Alert Admin', ['Admin', 'CEO'])).toMatchObject({ __typename: 'ValidationError', field: 'value' });
      expect(await setOrg('Key', '')).toEqual({ __typename: 'ValidationError', field: 'value', message: '"Key" is required' });
      expect(await setOrg('', 'x')).toEqual({ __typename: 'ValidationError', field: 'label', message: 'label is required' });
      expect(await setOrg('Gender', { nested: true })).toMatchObject({ __typename: 'ValidationError', field: 'value' });
    });

    it('keeps free-form labels the spec does not declare as text', async () => {
      expect(await setOrg('micah bawa', 'shallom')).toMatchObject({ data: { label: 'micah bawa', value: 'shallom' } });
    });

    it('resolves the value in force: channel > organisation > default', async () => {
      const set = await t.gql(SetChannelSetting, { integrationId, channelId, label: 'Sensitivity Level', value: 'High' });
      expect(set.setChannelIntegrationSetting).toMatchObject({ data: { value: 'High', channel: { id: channelId } } });
      await t.gql(SetChannelSetting, { integrationId, channelId, label: 'Provide Speed', value: '5' });

      const eff = await t.gql(Effective, { id: integrationId, channelId });
      const byLabel = Object.fromEntries(eff.integration!.effectiveSettings.map((s) => [s.label, s]));
      expect(byLabel['Sensitivity Level']).toMatchObject({ value: 'High', source: 'CHANNEL' });
      expect(byLabel['Provide Speed']).toMatchObject({ value: 5, source: 'CHANNEL' });
      expect(byLabel['Do you want to continue']).toMatchObject({ value: false, source: 'ORGANISATION' });
      expect(byLabel['Gender']).toMatchObject({ value: 'Female', source: 'DEFAULT' });
      expect(eff.integration!.effectiveSettings.map((s) => s.label)).not.toContain('micah bawa');

      const other = await t.gql(Effective, { id: integrationId, channelId: otherChannelId });
      const otherByLabel = Object.fromEntries(other.integration!.effectiveSettings.map((s) => [s.label, s]));
      expect(otherByLabel['Provide Speed']).toMatchObject({ value: 300, source: 'ORGANISATION' });
      expect(otherByLabel['Sensitivity Level']).toMatchObject({ value: 'Low', source: 'DEFAULT' });

      const settingId = set.setChannelIntegrationSetting.__typename === 'MutationSetChannelIntegrationSettingSuccess' ? set.setChannelIntegrationSetting.data.id : '';
      await t.gql(DeleteChannelSetting, { id: settingId });
      const after = await t.gql(Effective, { id: integrationId, channelId });
      expect(after.integration!.effectiveSettings.find((s) => s.label === 'Sensitivity Level')).toMatchObject({ value: 'Low', source: 'DEFAULT' });
    });

    it('validates channel values like organisation values', async () => {
      const r = await t.gql(SetChannelSetting, { integrationId, channelId, label: 'Sensitivity Level', value: 'Medium' });
      expect(r.setChannelIntegrationSetting).toMatchObject({ __typename: 'ValidationError', field: 'value' });
    });
  });
}
