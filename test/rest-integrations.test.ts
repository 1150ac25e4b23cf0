import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentedModifier, realWorldOutput } from './fixtures/specs.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './support/app.js';
import { serveJson, type LocalServer } from './support/http-server.js';
import { rest } from './support/rest.js';
import { addMember, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';

const ReadIntegration = graphql(`
  query RestReadIntegration($id: ID!) {
    integration(id: $id) {
      id
      name
      jsonUrl
      appName
      integrationType
      authCredential
      isActive
      settings { label value }
    }
  }
`);

const OrgIntegrations = graphql(`
  query RestOrgIntegrations($id: ID!) {
    organisation(id: $id) { id integrations { id name appName } }
  }
`);

const ok = (status: number, message: string) => ({ status: 'success', status_code: status, message });

for (const db of databases) {
  describe(`REST integrations and custom integrations (${db})`, () => {
    let t: TestApp;
    let specs: LocalServer;
    let orgId: string;
    let otherOrgId: string;
    let otherIntegrationId: string;
    let stranger: { id: string; token: string };
    let member: { id: string; token: string };

    beforeAll(async () => {
      specs = await serveJson({
        '/modifier.json': documentedModifier('https://example.com/modify'),
        '/modifier-v2.json': { data: { ...documentedModifier('https://example.com/modify-v2').data, descriptions: { app_name: 'Modifier v2' } } },
        '/output.json': realWorldOutput('https://example.com/output'),
        '/no-data.json': { name: 'not wrapped in data' },
        '/unlabelled-setting.json': { data: { ...documentedModifier('https://example.com/modify').data, settings: [{ type: 'text' }] } },
      });
      t = await startTestApp(db);
      orgId = await createOrg(t, 'Telex REST');
      stranger = await createUser(t, `stranger-${db}`);
      member = await createUser(t, `member-${db}`);
      await addMember(t, orgId, member.id, 'MEMBER');
      otherOrgId = await createOrg(t, 'Someone else', stranger.token);
      const other = await rest(t, 'POST', `/organisations/${otherOrgId}/integrations`, { json_url: `${specs.url}/output.json` }, stranger.token);
      expect(other.status).toBe(201);
      otherIntegrationId = other.body.data.id;
    });
    afterAll(async () => {
      await t?.close();
      await specs?.close();
    });

    it('POST /organisations/{id}/integrations creates from the documented body, read back through GraphQL', async () => {
      // The documented example verbatim, json_url pointed at a real spec server.
      const body = { name: 'teleximsss', json_url: `${specs.url}/modifier.json`, auth_credential: 'some-auth-credential', integration_type: 'filter' };
      const r = await rest(t, 'POST', `/organisations/${orgId}/integrations`, body);
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ ...ok(201, 'Integration app created successfully'), data: { name: 'teleximsss', json_url: body.json_url, integration_type: 'modifier', is_system_integration: false } });
      expect(r.body.data.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.body.data.json_schema).toEqual(documentedModifier('https://example.com/modify'));
      expect(r.body.data.auth_credential).toBe('********tial');
      expect(new Date(r.body.data.created_at).toString()).not.toBe('Invalid Date');
      expect(JSON.stringify(r.body)).not.toContain('some-auth-credential');
      // The signing secret in full in this answer only; its last four characters from then on.
      expect(r.body.data.signing_secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(r.body.data.signing_secret_hint).toBe(r.body.data.signing_secret.slice(-4));
      const again = await rest(t, 'GET', `/organisations/${orgId}/integrations`);
      const listed = again.body.data.find((i: { id: string }) => i.id === r.body.data.id);
      expect(listed).toMatchObject({ signing_secret: null, signing_secret_hint: r.body.data.signing_secret.slice(-4) });

      const g = await t.gql(ReadIntegration, { id: r.body.data.id });
      expect(g.integration).toMatchObject({ id: r.body.data.id, name: 'teleximsss', jsonUrl: body.json_url, integrationType: 'MODIFIER', authCredential: '********tial' });
    });

    it('POST /organisations/{id}/integrations refuses bad input with 400 naming the field, and others with 401/403/404', async () => {
      const path = `/organisations/${orgId}/integrations`;
      const cases: [unknown, string][] = [
        [{ name: 'x' }, 'json_url'],
        [{ json_url: 5 }, 'json_url'],
        [{ json_url: `${specs.url}/modifier.json`, name: ['a'] }, 'name'],
        [{ json_url: `${specs.url}/modifier.json`, auth_credential: { a: 1 } }, 'auth_credential'],
        [{ json_url: 'not a url' }, 'json_url'],
        [{ json_url: `${specs.url}/no-data.json` }, 'json_url'],
        [{ json_url: `${specs.url}/missing.json` }, 'json_url'],
        [{ json_url: `${specs.url}/modifier.json`, integration_type: 'output' }, 'integration_type'],
        [[], 'body'],
      ];
      for (const [body, field] of cases) {
        const r = await rest(t, 'POST', path, body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body).toMatchObject({ status: 'error', status_code: 400 });
        expect(r.body.errors?.[0].field, JSON.stringify(r.body)).toBe(field);
        expect(r.body.message).toContain(field === 'body' ? '' : field);
      }
      const unlabelled = await rest(t, 'POST', path, { json_url: `${specs.url}/unlabelled-setting.json` });
      expect(unlabelled.body).toMatchObject({ status_code: 400, message: 'json_url: invalid integration spec: data.settings[0].label is missing', errors: [{ field: 'json_url' }] });
      const malformed = await rest(t, 'POST', path, '{"json_url": ');
      expect(malformed.status).toBe(400);
      expect(malformed.body).toEqual({ status: 'error', status_code: 400, message: 'request body is not valid JSON' });

      const valid = { json_url: `${specs.url}/modifier.json` };
      expect((await rest(t, 'POST', path, valid, null)).status).toBe(401);
      expect((await rest(t, 'POST', path, valid, 'sb_not_a_real_token')).body).toMatchObject({ status: 'error', status_code: 401 });
      // 401 comes first, whatever the body.
      expect((await rest(t, 'POST', path, '{oops', null)).status).toBe(401);
      expect((await rest(t, 'POST', path, valid, member.token)).status).toBe(403);
      expect((await rest(t, 'POST', `/organisations/${otherOrgId}/integrations`, valid)).status).toBe(404);
      expect((await rest(t, 'POST', `/organisations/${randomUUID()}/integrations`, valid)).status).toBe(404);
      expect((await rest(t, 'POST', `/organisations/not-a-uuid/integrations`, valid)).status).toBe(404);
    });

    it('GET /organisations/{id}/integrations lists the documented fields, as GraphQL does', async () => {
      const r = await rest(t, 'GET', `/organisations/${orgId}/integrations`);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject(ok(200, 'Integrations retrieved successfully.'));
      const g = await t.gql(OrgIntegrations, { id: orgId });
      expect(r.body.data.map((i: { id: string }) => i.id)).toEqual(g.organisation?.integrations.map((i) => i.id));
      for (const key of ['id', 'app_name', 'json_url', 'app_url', 'app_logo', 'app_description', 'is_system_integration', 'is_active', 'created_at', 'updated_at']) {
        expect(r.body.data[0]).toHaveProperty(key);
      }
      expect(r.body.data[0]).toMatchObject({ app_name: 'Name of the application.', app_url: 'https://example.com', is_active: true });
      // Members may read.
      expect((await rest(t, 'GET', `/organisations/${orgId}/integrations`, undefined, member.token)).status).toBe(200);
      expect((await rest(t, 'GET', `/organisations/${otherOrgId}/integrations`)).status).toBe(404);
      expect((await rest(t, 'GET', `/organisations/${orgId}/integrations`, undefined, null)).status).toBe(401);
    });

    it('PATCH /organisations/{id}/integrations/{id} re-reads the spec from the new json_url', async () => {
      const created = await rest(t, 'POST', `/organisations/${orgId}/integrations`, { json_url: `${specs.url}/modifier.json`, name: 'instagram' });
      const id = created.body.data.id;
      const path = `/organisations/${orgId}/integrations/${id}`;

      const r = await rest(t, 'PATCH', path, { json_url: `${specs.url}/modifier-v2.json` });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ ...ok(200, 'Integrations updated successfully'), data: { id, name: 'instagram', json_url: `${specs.url}/modifier-v2.json`, is_system_integration: false } });
      const g = await t.gql(ReadIntegration, { id });
      expect(g.integration).toMatchObject({ jsonUrl: `${specs.url}/modifier-v2.json`, appName: 'Modifier v2', name: 'instagram' });

      // The documented example's json_url is no URL: a clear 400, and nothing stored changes.
      const weird = await rest(t, 'PATCH', path, { json_url: 'some-very-weird-logo-url' });
      expect(weird.status).toBe(400);
      expect(weird.body.errors?.[0]).toMatchObject({ field: 'json_url' });
      expect(weird.body.message).toMatch(/json_url.*must be an http\(s\) URL/);
      expect((await t.gql(ReadIntegration, { id })).integration?.jsonUrl).toBe(`${specs.url}/modifier-v2.json`);

      // A spec of another type cannot replace it.
      const otherType = await rest(t, 'PATCH', path, { json_url: `${specs.url}/output.json` });
      expect(otherType.status).toBe(400);
      expect(otherType.body.errors?.[0].field).toBe('json_url');

      const cases: [unknown, string][] = [
        [{}, 'body'],
        [{ json_url: 7 }, 'json_url'],
        [{ is_active: 'yes' }, 'is_active'],
        [{ name: '' }, 'name'],
      ];
      for (const [body, field] of cases) {
        const bad = await rest(t, 'PATCH', path, body);
        expect(bad.status, JSON.stringify(body)).toBe(400);
        expect(bad.body.errors?.[0].field, JSON.stringify(bad.body)).toBe(field);
      }
      expect((await rest(t, 'PATCH', path, '{"json_url"')).status).toBe(400);

      const off = await rest(t, 'PATCH', path, { is_active: false, auth_credential: 'another-secret' });
      expect(off.body.data).toMatchObject({ is_active: false, auth_credential: '********cret' });
      expect((await t.gql(ReadIntegration, { id })).integration).toMatchObject({ isActive: false, authCredential: '********cret' });

      const cleared = await rest(t, 'PATCH', path, { auth_credential: null });
      expect(cleared.body.data.auth_credential).toBeNull();
      expect((await t.gql(ReadIntegration, { id })).integration?.authCredential).toBeNull();

      expect((await rest(t, 'PATCH', `/organisations/${orgId}/integrations/${randomUUID()}`, { name: 'x' })).status).toBe(404);
      // Another organisation's integration, under my organisation or under its own.
      expect((await rest(t, 'PATCH', `/organisations/${orgId}/integrations/${otherIntegrationId}`, { name: 'x' })).status).toBe(404);
      expect((await rest(t, 'PATCH', `/organisations/${otherOrgId}/integrations/${otherIntegrationId}`, { name: 'x' })).status).toBe(404);
      // My integration under another organisation's path.
      expect((await rest(t, 'PATCH', `/organisations/${otherOrgId}/integrations/${id}`, { name: 'x' }, stranger.token)).status).toBe(404);
      expect((await rest(t, 'PATCH', path, { name: 'x' }, null)).status).toBe(401);
      expect((await rest(t, 'PATCH', path, { name: 'x' }, member.token)).status).toBe(403);
    });

    it('DELETE /organisations/{id}/integrations/{id} removes it', async () => {
      const created = await rest(t, 'POST', `/organisations/${orgId}/integrations`, { json_url: `${specs.url}/output.json`, name: 'to delete', auth_credential: 'secret-credential' });
      const id = created.body.data.id;
      expect((await rest(t, 'DELETE', `/organisations/${orgId}/integrations/${id}`, undefined, null)).status).toBe(401);
      expect((await rest(t, 'DELETE', `/organisations/${otherOrgId}/integrations/${id}`, undefined, stranger.token)).status).toBe(404);
      expect((await rest(t, 'DELETE', `/organisations/${orgId}/integrations/${otherIntegrationId}`)).status).toBe(404);
      const r = await rest(t, 'DELETE', `/organisations/${orgId}/integrations/${id}`);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ ...ok(200, 'Integrations deleted successfully'), data: { id, name: 'to delete', auth_credential: '********tial' } });
      expect((await t.gql(ReadIntegration, { id })).integration).toBeNull();
      expect((await rest(t, 'DELETE', `/organisations/${orgId}/integrations/${id}`)).status).toBe(404);
      // The other organisation's integration is untouched.
      expect((await t.gql(ReadIntegration, { id: otherIntegrationId }, stranger.token)).integration?.id).toBe(otherIntegrationId);
    });

    it('custom integrations: POST, GET, PUT, settings PUT/GET and DELETE with the documented bodies', async () => {
      const base = `/organisations/${orgId}/integrations/custom`;
      // POST with the documented body (json_url pointed at the spec server).
      const created = await rest(t, 'POST', base, { json_url: `${specs.url}/modifier.json` });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject(ok(201, 'Integration app created successfully'));
      const id = created.body.data.id;
      expect((await t.gql(ReadIntegration, { id })).integration).toMatchObject({ id, jsonUrl: `${specs.url}/modifier.json`, integrationType: 'MODIFIER' });

      const list = await rest(t, 'GET', base);
      expect(list.status).toBe(200);
      expect(list.body).toMatchObject(ok(200, 'Integrations retrieved successfully.'));
      const entry = list.body.data.find((i: { id: string }) => i.id === id);
      expect(entry).toMatchObject({ id, app_name: 'Name of the application.', json_url: `${specs.url}/modifier.json`, app_url: 'https://example.com', is_active: true });
      for (const key of ['app_logo', 'app_description', 'created_at', 'updated_at']) expect(entry).toHaveProperty(key);

      const put = await rest(t, 'PUT', `${base}/${id}`, { json_url: `${specs.url}/modifier-v2.json` });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject(ok(200, 'Integrations updated successfully'));
      expect((await t.gql(ReadIntegration, { id })).integration).toMatchObject({ jsonUrl: `${specs.url}/modifier-v2.json`, appName: 'Modifier v2' });

      // Settings: the documented setting_entry verbatim, then a typed one.
      const settings = `${base}/${id}/settings`;
      const s1 = await rest(t, 'PUT', settings, { setting_entry: { field_name: 'your_field_name', value: 'your_value' } });
      expect(s1.status).toBe(200);
      expect(s1.body).toMatchObject(ok(200, 'Integrations Settings updated successfully'));
      const s2 = await rest(t, 'PUT', settings, { setting_entry: { field_name: 'Provide Speed', value: '2500' } });
      expect(s2.body.data).toEqual({ field_name: 'Provide Speed', value: 2500 });
      expect((await t.gql(ReadIntegration, { id })).integration?.settings).toEqual([
        { label: 'your_field_name', value: 'your_value' },
        { label: 'Provide Speed', value: 2500 },
      ]);

      const got = await rest(t, 'GET', settings);
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject(ok(200, 'Integrations retrieved successfully.'));
      expect(got.body.data).toEqual({
        field_name: 'Provide Speed',
        value: 2500,
        entries: [
          { field_name: 'your_field_name', value: 'your_value' },
          { field_name: 'Provide Speed', value: 2500 },
        ],
      });

      const badSettings: [unknown, string][] = [
        [{}, 'setting_entry'],
        [{ setting_entry: 'x' }, 'setting_entry'],
        [{ setting_entry: { value: 'v' } }, 'setting_entry.field_name'],
        [{ setting_entry: { field_name: 'x' } }, 'setting_entry.value'],
        [{ setting_entry: { field_name: 3, value: 'v' } }, 'setting_entry.field_name'],
        [{ setting_entry: { field_name: 'x', value: { nested: true } } }, 'setting_entry.value'],
        [{ setting_entry: { field_name: 'Gender', value: 'Other' } }, 'setting_entry.value'],
        [{ setting_entry: { field_name: 'Provide Speed', value: 'fast' } }, 'setting_entry.value'],
        [{ setting_entry: { field_name: '  ', value: 'v' } }, 'setting_entry.field_name'],
      ];
      for (const [body, field] of badSettings) {
        const bad = await rest(t, 'PUT', settings, body);
        expect(bad.status, JSON.stringify(body)).toBe(400);
        expect(bad.body.errors?.[0].field, JSON.stringify(bad.body)).toBe(field);
      }
      expect((await rest(t, 'PUT', settings, '{"setting_entry": {')).status).toBe(400);
      expect((await rest(t, 'PUT', `${base}/${otherIntegrationId}/settings`, { setting_entry: { field_name: 'a', value: 'b' } })).status).toBe(404);
      expect((await rest(t, 'GET', `${base}/${otherIntegrationId}/settings`)).status).toBe(404);
      expect((await rest(t, 'GET', settings, undefined, null)).status).toBe(401);
      expect((await rest(t, 'PUT', settings, { setting_entry: { field_name: 'a', value: 'b' } }, member.token)).status).toBe(403);

      const badPut: [unknown, string][] = [
        [{}, 'json_url'],
        [{ json_url: true }, 'json_url'],
        [{ json_url: 'ftp://example.com/spec.json' }, 'json_url'],
      ];
      for (const [body, field] of badPut) {
        const bad = await rest(t, 'PUT', `${base}/${id}`, body);
        expect(bad.status, JSON.stringify(body)).toBe(400);
        expect(bad.body.errors?.[0].field).toBe(field);
      }
      expect((await rest(t, 'PUT', `${base}/${otherIntegrationId}`, { json_url: `${specs.url}/output.json` })).status).toBe(404);
      expect((await rest(t, 'PUT', `${base}/${id}`, { json_url: `${specs.url}/modifier.json` }, null)).status).toBe(401);

      expect((await rest(t, 'POST', base, {})).body.errors?.[0].field).toBe('json_url');
      expect((await rest(t, 'POST', base, { json_url: `${specs.url}/no-data.json` })).status).toBe(400);
      expect((await rest(t, 'POST', `/organisations/${otherOrgId}/integrations/custom`, { json_url: `${specs.url}/modifier.json` })).status).toBe(404);
      expect((await rest(t, 'GET', `/organisations/${otherOrgId}/integrations/custom`)).status).toBe(404);

      expect((await rest(t, 'DELETE', `${base}/${otherIntegrationId}`)).status).toBe(404);
      const del = await rest(t, 'DELETE', `${base}/${id}`);
      expect(del.status).toBe(200);
      expect(del.body).toMatchObject(ok(200, 'Integrations deleted successfully'));
      expect((await t.gql(ReadIntegration, { id })).integration).toBeNull();
      expect((await rest(t, 'DELETE', `${base}/${id}`)).status).toBe(404);
      expect((await rest(t, 'GET', settings)).status).toBe(404);
    });
  });
}
