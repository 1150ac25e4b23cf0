import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startTestApp, type TestApp } from './support/app.js';

/** The 19 endpoints of Telex's integrations REST reference, in OpenAPI path syntax. */
const DOCUMENTED: [string, string][] = [
  ['post', '/slack/organisations/{organisationId}/token-exchg'],
  ['get', '/slack/organisations/{organisationId}'],
  ['post', '/organisations/{organisationId}/integrations'],
  ['get', '/organisations/{organisationId}/integrations'],
  ['patch', '/organisations/{organisationId}/integrations/{integrationId}'],
  ['delete', '/organisations/{organisationId}/integrations/{integrationId}'],
  ['post', '/organisations/{organisation_id}/integrations/{integration_id}/settings'],
  ['get', '/organisations/{organisation_id}/integrations/{integration_id}/settings'],
  ['patch', '/organisations/{organisation_id}/integrations/{integration_id}/settings'],
  ['post', '/organisations/{org_id}/integrations/{integration_id}/channels/{channel_id}/settings'],
  ['get', '/organisations/{org_id}/integrations/{integration_id}/channels/{channel_id}/settings'],
  ['patch', '/organisations/{org_id}/integrations/{integration_id}/channels/{channel_id}/settings/{setting_id}'],
  ['delete', '/organisations/{org_id}/integrations/{integration_id}/channels/{channel_id}/settings/{setting_id}'],
  ['post', '/organisations/{organisationId}/integrations/custom'],
  ['get', '/organisations/{organisationId}/integrations/custom'],
  ['put', '/organisations/{organisationId}/integrations/custom/{integrationId}'],
  ['delete', '/organisations/{organisationId}/integrations/custom/{integrationId}'],
  ['put', '/organisations/{organisationId}/integrations/custom/{integrationId}/settings'],
  ['get', '/organisations/{organisationId}/integrations/custom/{integrationId}/settings'],
];

interface Operation {
  tags?: string[];
  summary?: string;
  description?: string;
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { content: Record<string, { schema: { required?: string[]; properties?: Record<string, unknown> } }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }>;
}

describe('OpenAPI document and Swagger UI', () => {
  let t: TestApp;
  let doc: { openapi: string; paths: Record<string, Record<string, Operation>>; components: { securitySchemes: Record<string, unknown> }; security: unknown[] };

  beforeAll(async () => {
    t = await startTestApp('sqlite');
    const res = await fetch(`${t.url}/docs/json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as typeof doc;
  });
  afterAll(() => t?.close());

  it('describes every documented endpoint with its parameters, bearer auth and documented statuses', () => {
    expect(doc.openapi).toBe('3.0.3');
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    for (const [method, path] of DOCUMENTED) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op.summary, `${method} ${path}`).toBeTruthy();
      expect(op.tags?.length).toBe(1);
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect(op.parameters?.filter((p) => p.in === 'path').map((p) => p.name).sort()).toEqual(names.sort());
      expect(Object.keys(op.responses)).toContain('401');
      expect(Object.keys(op.responses).some((c) => c.startsWith('2'))).toBe(true);
      const success = Object.entries(op.responses).find(([c]) => c.startsWith('2'))![1];
      expect(success.content?.['application/json'].schema.properties).toHaveProperty('status_code');
    }
  });

  it('documents the request bodies the routes validate, and the choices made where the reference is ambiguous', () => {
    const body = (method: string, path: string) => doc.paths[path][method].requestBody?.content['application/json'].schema;
    expect(body('post', '/organisations/{organisationId}/integrations')).toMatchObject({ required: ['json_url'] });
    expect(Object.keys(body('post', '/organisations/{organisationId}/integrations')!.properties!)).toEqual(['name', 'json_url', 'auth_credential', 'integration_type']);
    expect(body('post', '/slack/organisations/{organisationId}/token-exchg')).toMatchObject({ required: ['oauth_code'] });
    expect(body('put', '/organisations/{organisationId}/integrations/custom/{integrationId}/settings')).toMatchObject({ required: ['setting_entry'] });
    expect(body('post', '/organisations/{org_id}/integrations/{integration_id}/channels/{channel_id}/settings')).toMatchObject({ required: ['form_field_label', 'form_field_value'] });
    expect(doc.paths['/organisations/{organisation_id}/integrations/{integration_id}/settings'].patch.description).toMatch(/exactly one stored\s+value/);
    expect(doc.paths['/organisations/{organisationId}/integrations/custom/{integrationId}/settings'].get.description).toMatch(/entry written last/);
    expect(doc.paths['/organisations/{organisationId}/integrations'].post.description).toMatch(/"filter"/);
    expect(doc.paths['/slack/organisations/{organisationId}'].get.description).toMatch(/masked/);
    expect(Object.keys(doc.paths['/slack/organisations/{organisationId}/token-exchg'].post.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '404', '409', '500']));
  });

  it('serves the same document as YAML and a browsable UI without a token', async () => {
    const yaml = await fetch(`${t.url}/docs/yaml`);
    expect(yaml.status).toBe(200);
    expect(parseYaml(await yaml.text())).toEqual(doc);
    const ui = await fetch(`${t.url}/docs`);
    expect(ui.status).toBe(200);
    const html = await ui.text();
    expect(html).toMatch(/swagger-ui/i);
    const script = html.match(/src="([^"]*swagger-ui-bundle\.js)"/)?.[1];
    expect(script).toBeTruthy();
    const asset = await fetch(new URL(script!, `${t.url}/docs/`));
    expect(asset.status).toBe(200);
    await asset.arrayBuffer();
  });
});
