import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentedModifier } from './fixtures/specs.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './support/app.js';
import { serveJson, type LocalServer } from './support/http-server.js';
import { rest } from './support/rest.js';
import { addIntegration, addMember, createChannel, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';

const OrgSettings = graphql(`
  query RestOrgSettings($id: ID!) {
    integration(id: $id) { id settings { id label value } }
  }
`);

const Enable = graphql(`
  mutation RestEnable($integrationId: ID!, $channelId: ID!) {
    enableIntegration(input: { integrationId: $integrationId, channelId: $channelId }) { __typename ... on Error { message } }
  }
`);

const ChannelSettings = graphql(`
  query RestChannelSettings($id: ID!, $integrationId: ID!) {
    channel(id: $id) {
      id
      integrations { integration { id } settings { id label value } }
    }
    integration(id: $integrationId) { effectiveSettings(channelId: $id) { label value source } }
  }
`);

const ok = (status: number, message: string) => ({ status: 'success', status_code: status, message });

for (const db of databases) {
  describe(`REST integration settings and channel integration settings (${db})`, () => {
    let t: TestApp;
    let specs: LocalServer;
    let orgId: string;
    let integrationId: string;
    let channelId: string;
    let otherOrgId: string;
    let otherIntegrationId: string;
    let otherChannelId: string;
    let stranger: { id: string; token: string };
    let member: { id: string; token: string };

    beforeAll(async () => {
      specs = await serveJson({ '/modifier.json': documentedModifier('https://example.com/modify') });
      t = await startTestApp(db);
      orgId = await createOrg(t, 'Settings over REST');
      integrationId = await addIntegration(t, orgId, `${specs.url}/modifier.json`);
      channelId = (await createChannel(t, orgId, 'general')).id;
      const enabled = await t.gql(Enable, { integrationId, channelId });
      expect(enabled.enableIntegration.__typename).toBe('MutationEnableIntegrationSuccess');
      stranger = await createUser(t, `stranger-${db}`);
      member = await createUser(t, `member-${db}`);
      await addMember(t, orgId, member.id, 'MEMBER');
      otherOrgId = await createOrg(t, 'Elsewhere', stranger.token);
      otherIntegrationId = await addIntegration(t, otherOrgId, `${specs.url}/modifier.json`, stranger.token);
      otherChannelId = (await createChannel(t, otherOrgId, 'theirs', stranger.token)).id;
    });
    afterAll(async () => {
      await t?.close();
      await specs?.close();
    });

    it('organisation settings: POST, GET and PATCH with the documented bodies, read back through GraphQL', async () => {
      const path = `/organisations/${orgId}/integrations/${integrationId}/settings`;
      const added = await rest(t, 'POST', path, { form_field_value: 'shallom', form_field_label: 'micah bawa' });
      expect(added.status).toBe(200);
      expect(added.body).toMatchObject({ ...ok(200, 'Integration setting added successfully'), data: { org_id: orgId, integration_id: integrationId, form_field_label: 'micah bawa', form_field_value: 'shallom' } });
      const settingId = added.body.data.id;
      expect((await t.gql(OrgSettings, { id: integrationId })).integration?.settings).toEqual([{ id: settingId, label: 'micah bawa', value: 'shallom' }]);

      const list = await rest(t, 'GET', path);
      expect(list.status).toBe(200);
      expect(list.body).toMatchObject(ok(200, 'Integration setting retrieved successfully'));
      expect(list.body.data).toHaveLength(1);
      expect(list.body.data[0]).toMatchObject({ id: settingId, org_id: orgId, integration_id: integrationId, form_field_value: 'shallom', form_field_label: 'micah bawa' });
      for (const key of ['created_at', 'updated_at']) expect(new Date(list.body.data[0][key]).toString()).not.toBe('Invalid Date');

      // The documented PATCH names no setting: with one stored value, that one is renamed (value kept).
      const patched = await rest(t, 'PATCH', path, { form_field_label: 'Shallom Micah Bawa' });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ ...ok(200, 'Integration setting updated successfully'), data: { id: settingId, form_field_label: 'Shallom Micah Bawa', form_field_value: 'shallom' } });
      expect((await t.gql(OrgSettings, { id: integrationId })).integration?.settings).toEqual([{ id: settingId, label: 'Shallom Micah Bawa', value: 'shallom' }]);

      // The label names the setting whose value changes.
      const revalued = await rest(t, 'PATCH', path, { form_field_label: 'Shallom Micah Bawa', form_field_value: 'This is ' });
      expect(revalued.body.data).toMatchObject({ id: settingId, form_field_value: 'This is ' });

      // A spec label is typed by the spec; posting the same label again replaces the value.
      const speed = await rest(t, 'POST', path, { form_field_label: 'Provide Speed', form_field_value: '1500' });
      expect(speed.body.data.form_field_value).toBe(1500);
      const again = await rest(t, 'POST', path, { form_field_label: 'Provide Speed', form_field_value: 2000 });
      expect(again.body.data).toMatchObject({ id: speed.body.data.id, form_field_value: 2000 });
      const alerts = await rest(t, 'POST', path, { form_field_label: 'Alert Admin', form_field_value: ['Admin', 'Manager'] });
      expect(alerts.body.data.form_field_value).toEqual(['Admin', 'Manager']);

      // Several settings now: a label that matches none is ambiguous; an id names one exactly.
      const ambiguous = await rest(t, 'PATCH', path, { form_field_label: 'Nobody has this label' });
      expect(ambiguous.status).toBe(400);
      expect(ambiguous.body.errors?.[0].field).toBe('form_field_label');
      const byId = await rest(t, 'PATCH', path, { id: speed.body.data.id, form_field_value: '3000' });
      expect(byId.body.data).toMatchObject({ id: speed.body.data.id, form_field_label: 'Provide Speed', form_field_value: 3000 });
      expect((await t.gql(OrgSettings, { id: integrationId })).integration?.settings).toEqual([
        { id: settingId, label: 'Shallom Micah Bawa', value: 'This is ' },
        { id: speed.body.data.id, label: 'Provide Speed', value: 3000 },
        { id: alerts.body.data.id, label: 'Alert Admin', value: ['Admin', 'Manager'] },
      ]);
      const renameClash = await rest(t, 'PATCH', path, { id: settingId, form_field_label: 'Provide Speed' });
      expect(renameClash.status).toBe(400);
      expect(renameClash.body.errors?.[0].field).toBe('form_field_label');
      expect((await rest(t, 'PATCH', path, { id: randomUUID(), form_field_value: 'x' })).status).toBe(404);
    });

    it('organisation settings refuse bad input, unknown ids and other organisations', async () => {
      const path = `/organisations/${orgId}/integrations/${integrationId}/settings`;
      const posts: [unknown, string][] = [
        [{ form_field_value: 'v' }, 'form_field_label'],
        [{ form_field_label: 'l' }, 'form_field_value'],
        [{ form_field_label: 5, form_field_value: 'v' }, 'form_field_label'],
        [{ form_field_label: 'l', form_field_value: { a: 1 } }, 'form_field_value'],
        [{ form_field_label: 'l', form_field_value: [1, 2] }, 'form_field_value'],
        [{ form_field_label: ' ', form_field_value: 'v' }, 'form_field_label'],
        [{ form_field_label: 'Gender', form_field_value: 'Other' }, 'form_field_value'],
        [{ form_field_label: 'Provide Speed', form_field_value: 'fast' }, 'form_field_value'],
        [{ form_field_label: 'Key', form_field_value: '' }, 'form_field_value'],
        ['"nope"', 'body'],
      ];
      for (const [body, field] of posts) {
        const r = await rest(t, 'POST', path, body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.errors?.[0].field, JSON.stringify(r.body)).toBe(field);
      }
      expect((await rest(t, 'POST', path, '{"form_field_label": "a",')).body).toEqual({ status: 'error', status_code: 400, message: 'request body is not valid JSON' });
      const patches: [unknown, string][] = [
        [{}, 'body'],
        [{ form_field_label: false }, 'form_field_label'],
        [{ id: 12 }, 'id'],
      ];
      for (const [body, field] of patches) {
        const r = await rest(t, 'PATCH', path, body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.errors?.[0].field, JSON.stringify(r.body)).toBe(field);
      }
      const valid = { form_field_label: 'a', form_field_value: 'b' };
      for (const method of ['POST', 'GET', 'PATCH']) {
        const body = method === 'GET' ? undefined : valid;
        expect((await rest(t, method, path, body, null)).status, method).toBe(401);
        expect((await rest(t, method, path, body, 'sb_invalid')).status, method).toBe(401);
        expect((await rest(t, method, `/organisations/${orgId}/integrations/${randomUUID()}/settings`, body)).status, method).toBe(404);
        expect((await rest(t, method, `/organisations/${orgId}/integrations/${otherIntegrationId}/settings`, body)).status, method).toBe(404);
        expect((await rest(t, method, `/organisations/${otherOrgId}/integrations/${otherIntegrationId}/settings`, body)).status, method).toBe(404);
        expect((await rest(t, method, `/organisations/${otherOrgId}/integrations/${integrationId}/settings`, body, stranger.token)).status, method).toBe(404);
      }
      expect((await rest(t, 'GET', path, undefined, member.token)).status).toBe(200);
      expect((await rest(t, 'POST', path, valid, member.token)).status).toBe(403);
      // Nothing of the other organisation changed.
      expect((await t.gql(OrgSettings, { id: otherIntegrationId }, stranger.token)).integration?.settings).toEqual([]);
    });

    it('channel settings: POST, GET, PATCH and DELETE with the documented bodies, read back through GraphQL', async () => {
      const base = `/organisations/${orgId}/integrations/${integrationId}/channels/${channelId}/settings`;
      const added = await rest(t, 'POST', base, { form_field_label: 'Shallom Micah', form_field_value: 'Bawa' });
      expect(added.status).toBe(200);
      expect(added.body).toMatchObject({
        ...ok(200, 'Channel Integration setting added successfully'),
        data: { org_id: orgId, integration_id: integrationId, channel_id: channelId, form_field_label: 'Shallom Micah', form_field_value: 'Bawa' },
      });
      const settingId = added.body.data.id;
      const read = async () => (await t.gql(ChannelSettings, { id: channelId, integrationId })).channel?.integrations.find((l) => l.integration.id === integrationId)?.settings;
      expect(await read()).toEqual([{ id: settingId, label: 'Shallom Micah', value: 'Bawa' }]);

      const list = await rest(t, 'GET', base);
      expect(list.status).toBe(200);
      expect(list.body).toMatchObject(ok(200, 'Channel Integration settings retrieved successfully'));
      expect(list.body.data).toEqual([
        expect.objectContaining({ id: settingId, org_id: orgId, integration_id: integrationId, channel_id: channelId, form_field_value: 'Bawa', form_field_label: 'Shallom Micah' }),
      ]);
      expect(list.body.data[0]).toHaveProperty('created_at');
      expect(list.body.data[0]).toHaveProperty('updated_at');

      const patched = await rest(t, 'PATCH', `${base}/${settingId}`, { form_field_value: 'ouuuuuuu' });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ ...ok(200, 'Integration setting updated successfully'), data: { id: settingId, form_field_label: 'Shallom Micah', form_field_value: 'ouuuuuuu' } });
      expect(await read()).toEqual([{ id: settingId, label: 'Shallom Micah', value: 'ouuuuuuu' }]);

      // A channel value of a spec setting overrides the organisation's, visible in the value in force.
      const gender = await rest(t, 'POST', base, { form_field_label: 'Gender', form_field_value: 'Male' });
      expect(gender.status).toBe(200);
      const inForce = (await t.gql(ChannelSettings, { id: channelId, integrationId })).integration?.effectiveSettings.find((s) => s.label === 'Gender');
      expect(inForce).toEqual({ label: 'Gender', value: 'Male', source: 'CHANNEL' });

      const deleted = await rest(t, 'DELETE', `${base}/${settingId}`);
      expect(deleted.status).toBe(200);
      expect(deleted.body).toMatchObject(ok(200, 'Channel Integration setting deleted successfully'));
      expect(await read()).toEqual([{ id: gender.body.data.id, label: 'Gender', value: 'Male' }]);
      expect((await rest(t, 'DELETE', `${base}/${settingId}`)).status).toBe(404);
      expect((await rest(t, 'PATCH', `${base}/${settingId}`, { form_field_value: 'x' })).status).toBe(404);
    });

    it('channel settings refuse bad input, unknown ids and other organisations', async () => {
      const base = `/organisations/${orgId}/integrations/${integrationId}/channels/${channelId}/settings`;
      const setting = (await rest(t, 'POST', base, { form_field_label: 'Key', form_field_value: 'abc' })).body.data.id as string;
      const posts: [unknown, string][] = [
        [{ form_field_label: 'x' }, 'form_field_value'],
        [{ form_field_value: 'x' }, 'form_field_label'],
        [{ form_field_label: ['x'], form_field_value: 'x' }, 'form_field_label'],
        [{ form_field_label: 'Sensitivity Level', form_field_value: 'Medium' }, 'form_field_value'],
      ];
      for (const [body, field] of posts) {
        const r = await rest(t, 'POST', base, body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.errors?.[0].field, JSON.stringify(r.body)).toBe(field);
      }
      const patches: [unknown, string][] = [
        [{}, 'body'],
        [{ form_field_value: { x: 1 } }, 'form_field_value'],
        [{ form_field_label: 1 }, 'form_field_label'],
        [{ form_field_value: '' }, 'form_field_value'],
      ];
      for (const [body, field] of patches) {
        const r = await rest(t, 'PATCH', `${base}/${setting}`, body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.errors?.[0].field, JSON.stringify(r.body)).toBe(field);
      }
      expect((await rest(t, 'POST', base, '{')).status).toBe(400);
      expect((await rest(t, 'PATCH', `${base}/${setting}`, '{"form_field_value"')).status).toBe(400);

      const valid = { form_field_label: 'a', form_field_value: 'b' };
      const wrongPaths = [
        `/organisations/${orgId}/integrations/${integrationId}/channels/${randomUUID()}/settings`,
        `/organisations/${orgId}/integrations/${integrationId}/channels/${otherChannelId}/settings`,
        `/organisations/${orgId}/integrations/${otherIntegrationId}/channels/${channelId}/settings`,
        `/organisations/${otherOrgId}/integrations/${integrationId}/channels/${channelId}/settings`,
        `/organisations/${otherOrgId}/integrations/${otherIntegrationId}/channels/${otherChannelId}/settings`,
      ];
      for (const path of wrongPaths) {
        expect((await rest(t, 'POST', path, valid)).status, path).toBe(404);
        expect((await rest(t, 'GET', path)).status, path).toBe(404);
        expect((await rest(t, 'PATCH', `${path}/${setting}`, { form_field_value: 'x' })).status, path).toBe(404);
        expect((await rest(t, 'DELETE', `${path}/${setting}`)).status, path).toBe(404);
      }
      expect((await rest(t, 'PATCH', `${base}/${randomUUID()}`, { form_field_value: 'x' })).status).toBe(404);
      expect((await rest(t, 'DELETE', `${base}/not-a-uuid`)).status).toBe(404);
      // The owner of another organisation cannot reach this one's setting through any path.
      expect((await rest(t, 'DELETE', `${base}/${setting}`, undefined, stranger.token)).status).toBe(404);
      expect((await rest(t, 'GET', base, undefined, null)).status).toBe(401);
      expect((await rest(t, 'DELETE', `${base}/${setting}`, undefined, null)).status).toBe(401);
      expect((await rest(t, 'PATCH', `${base}/${setting}`, { form_field_value: 'x' }, 'sb_invalid')).status).toBe(401);
      expect((await rest(t, 'GET', base, undefined, member.token)).status).toBe(200);
      expect((await rest(t, 'DELETE', `${base}/${setting}`, undefined, member.token)).status).toBe(403);
      // Still there, unchanged.
      const list = await rest(t, 'GET', base);
      expect(list.body.data.find((s: { id: string }) => s.id === setting)).toMatchObject({ form_field_label: 'Key', form_field_value: 'abc' });
    });
  });
}
