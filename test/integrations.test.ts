import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentedInterval, documentedModifier, realWorldOutput } from './fixtures/specs.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './support/app.js';
import { json, serveJson, startServer, type LocalServer } from './support/http-server.js';
import { databases } from './support/services.js';
import { createChannel, createOrg } from './support/seed.js';

const AddIntegration = graphql(`
  mutation AddIntegration($organisationId: ID!, $jsonUrl: String!, $authCredential: String) {
    addIntegration(input: { organisationId: $organisationId, jsonUrl: $jsonUrl, authCredential: $authCredential }) {
      __typename
      ... on MutationAddIntegrationSuccess {
        data {
          id name appName appDescription appLogo appUrl backgroundColor integrationType integrationCategory
          targetUrl tickUrl keyFeatures isActive isSystemIntegration authCredential spec
          settingsSchema { label type required default options description }
        }
      }
      ... on ValidationError { field message }
      ... on Error { message }
    }
  }
`);

const ListIntegrations = graphql(`
  query ListIntegrations($id: ID!, $type: IntegrationType, $category: String, $active: Boolean) {
    organisation(id: $id) { integrations(type: $type, category: $category, active: $active) { id appName integrationType isActive } }
  }
`);

const UpdateIntegration = graphql(`
  mutation UpdateIntegration($id: ID!, $name: String, $isActive: Boolean, $authCredential: String) {
    updateIntegration(input: { id: $id, name: $name, isActive: $isActive, authCredential: $authCredential }) {
      __typename
      ... on MutationUpdateIntegrationSuccess { data { id name isActive authCredential } }
      ... on Error { message }
    }
  }
`);

const RefreshIntegration = graphql(`
  mutation RefreshIntegration($id: ID!, $jsonUrl: String) {
    refreshIntegration(input: { id: $id, jsonUrl: $jsonUrl }) {
      __typename
      ... on MutationRefreshIntegrationSuccess { data { id appName jsonUrl settingsSchema { label } } }
      ... on ValidationError { field message }
    }
  }
`);

const RemoveIntegration = graphql(`
  mutation RemoveIntegration($id: ID!) {
    removeIntegration(input: { id: $id }) { __typename ... on MutationRemoveIntegrationSuccess { data { id } } ... on Error { message } }
  }
`);

const Enable = graphql(`
  mutation Enable($integrationId: ID!, $channelId: ID!, $position: Int) {
    enableIntegration(input: { integrationId: $integrationId, channelId: $channelId, position: $position }) {
      __typename
      ... on MutationEnableIntegrationSuccess { data { id position integration { id } channel { id } } }
      ... on Error { message }
    }
  }
`);

const Disable = graphql(`
  mutation Disable($integrationId: ID!, $channelId: ID!) {
    disableIntegration(input: { integrationId: $integrationId, channelId: $channelId }) { __typename ... on Error { message } }
  }
`);

const ChannelIntegrations = graphql(`
  query ChannelIntegrations($id: ID!) { channel(id: $id) { integrations { position integration { appName } } } }
`);

const TEN_MB = 10 * 1024 * 1024;

for (const db of databases) {
  describe(`integrations (${db})`, () => {
    let t: TestApp;
    let specs: LocalServer;
    let orgId: string;
    let channelId: string;

    beforeAll(async () => {
      t = await startTestApp(db);
      specs = await startServer((req, res) => {
        const path = req.url.split('?')[0];
        const target = `${specs.url}/hook`;
        const routes: Record<string, unknown> = {
          '/modifier.json': documentedModifier(target),
          '/modifier-v2.json': { data: { ...documentedModifier(target).data, descriptions: { app_name: 'Renamed' }, settings: [] } },
          '/output.json': realWorldOutput(target),
          '/interval.json': documentedInterval(`${specs.url}/tick`),
          '/no-data.json': { integration_type: 'modifier', target_url: target },
          '/bad-type.json': { data: { integration_type: 'filter', target_url: target } },
          '/no-target.json': { data: { integration_type: 'output' } },
          '/interval-no-tick.json': { data: { ...documentedInterval('x').data, tick_url: undefined } },
          '/interval-bad-cron.json': documentedInterval(`${specs.url}/tick`, 'every minute'),
          '/bad-default.json': {
            data: { integration_type: 'modifier', target_url: target, settings: [{ label: 'Level', type: 'dropdown', default: 'Extreme', options: ['High', 'Low'] }] },
          },
          '/no-label.json': { data: { integration_type: 'modifier', target_url: target, settings: [{ type: 'text' }] } },
        };
        if (path in routes) return json(res, 200, routes[path]);
        if (path === '/not-json') {
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end('<html>hello</html>');
        }
        if (path === '/huge.json') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"data": {"pad": "');
          res.write('x'.repeat(TEN_MB));
          return res.end('"}}');
        }
        if (path === '/redirect-private') {
          res.writeHead(302, { location: 'http://10.255.255.1/spec.json' });
          return res.end();
        }
        if (path === '/redirect-metadata') {
          res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' });
          return res.end();
        }
        json(res, 404, { error: 'not found' });
      });
      orgId = await createOrg(t, 'Integrations');
      channelId = (await createChannel(t, orgId, 'alerts')).id;
    });
    afterAll(async () => {
      await specs.close();
      await t.close();
    });

    async function add(path: string, authCredential?: string) {
      const r = await t.gql(AddIntegration, { organisationId: orgId, jsonUrl: `${specs.url}${path}`, authCredential });
      return r.addIntegration;
    }

    it('adds the documented modifier spec, typed and kept whole', async () => {
      const r = await add('/modifier.json', 'secret-credential-1234');
      if (r.__typename !== 'MutationAddIntegrationSuccess') throw new Error(JSON.stringify(r));
      expect(r.data).toMatchObject({
        appName: 'Name of the application.',
        integrationType: 'MODIFIER',
        integrationCategory: 'Monitoring & Logging',
        targetUrl: `${specs.url}/hook`,
        tickUrl: null,
        isActive: true,
        isSystemIntegration: false,
        authCredential: '********1234',
        keyFeatures: ['Feature description 1.', 'Feature description 2.', 'Feature description 3.', 'Feature description 4.'],
      });
      expect(JSON.stringify(r.data)).not.toContain('secret-credential');
      const byLabel = Object.fromEntries(r.data.settingsSchema.map((s) => [s.label, s]));
      expect(byLabel['Provide Speed'].default).toBe(1000);
      expect(byLabel['Do you want to continue'].default).toBe(true);
      expect(byLabel['Alert Admin'].default).toEqual(['Super-Admin']);
      expect(byLabel['Gender']).toMatchObject({ type: 'radio', required: true, default: 'Female', options: ['Male', 'Female'] });
      // Unknown fields of the spec are preserved.
      expect((r.data.spec as { data: { output: unknown[]; permissions: unknown } }).data.output).toHaveLength(2);
      expect((r.data.spec as { data: { permissions: unknown } }).data.permissions).toBeDefined();
    });

    it('accepts real-world specs with extra fields, loose types and multi-select', async () => {
      const r = await add('/output.json');
      if (r.__typename !== 'MutationAddIntegrationSuccess') throw new Error(JSON.stringify(r));
      expect(r.data).toMatchObject({ appName: 'Uptime Relay', integrationType: 'OUTPUT', integrationCategory: 'Monitoring', keyFeatures: ['Relays messages', '42'] });
      const regions = r.data.settingsSchema.find((s) => s.label === 'Regions');
      expect(regions).toMatchObject({ type: 'multi-select', default: ['eu', 'us'], options: ['eu', 'us', 'ap'] });
      expect(r.data.settingsSchema.find((s) => s.label === 'Max Retries')?.default).toBe(3);
      expect(r.data.settingsSchema.find((s) => s.label === 'Verbose')).toMatchObject({ default: false, description: 'Log everything' });
      expect(r.data.spec).toMatchObject({ meta: { version: 2 }, data: { author: 'Community Developer', telex_extra: { whatever: [1, 2, 3] } } });
    });

    it('adds the documented interval spec', async () => {
      const r = await add('/interval.json');
      expect(r).toMatchObject({ __typename: 'MutationAddIntegrationSuccess', data: { integrationType: 'INTERVAL', tickUrl: `${specs.url}/tick` } });
    });

    it.each([
      ['/no-data.json', /data is missing/],
      ['/bad-type.json', /data\.integration_type "filter" is not one of modifier, interval, output/],
      ['/no-target.json', /data\.target_url is required for a output integration/],
      ['/interval-no-tick.json', /data\.tick_url is required for an interval integration/],
      ['/interval-bad-cron.json', /data\.settings\[0\]\.default "every minute" is not a crontab expression/],
      ['/bad-default.json', /data\.settings\[0\]\.default "Extreme" is not one of the options \(High, Low\)/],
      ['/no-label.json', /data\.settings\[0\]\.label is missing/],
      ['/not-json', /not valid JSON/],
      ['/huge.json', /larger than the 1048576-byte limit/],
      ['/missing.json', /answered HTTP 404/],
      ['/redirect-private', /private, loopback or link-local/],
      ['/redirect-metadata', /private, loopback or link-local/],
    ])('refuses %s with a clear error on jsonUrl', async (path, message) => {
      const r = await add(path);
      expect(r).toMatchObject({ __typename: 'ValidationError', field: 'jsonUrl' });
      expect((r as { message: string }).message).toMatch(message);
    });

    it('refuses an unreachable URL and a non-http URL', async () => {
      const closed = await startServer(() => {});
      const url = closed.url;
      await closed.close();
      const r = await t.gql(AddIntegration, { organisationId: orgId, jsonUrl: `${url}/x.json` });
      expect(r.addIntegration).toMatchObject({ __typename: 'ValidationError', field: 'jsonUrl' });
      expect((r.addIntegration as { message: string }).message).toMatch(/could not be reached/);
      const ftp = await t.gql(AddIntegration, { organisationId: orgId, jsonUrl: 'ftp://example.com/spec.json' });
      expect(ftp.addIntegration).toMatchObject({ __typename: 'ValidationError', field: 'jsonUrl', message: 'must be an http(s) URL' });
    });

    it('loads a spec when its server resets the kept-alive socket as it is reused: the GET goes once more, on a new socket', async () => {
      const org = await createOrg(t, 'Kept-alive');
      // Answers the first request of each connection, and cuts the connection at the second (a keep-alive closed just then).
      const served = new WeakMap<Socket, number>();
      let resets = 0;
      const server = createServer((req, res) => {
        const n = (served.get(req.socket) ?? 0) + 1;
        served.set(req.socket, n);
        if (n > 1) {
          resets++;
          req.socket.destroy();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(req.url === '/first.json' ? realWorldOutput(`${specs.url}/hook`) : documentedInterval(`${specs.url}/tick`)));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        for (const path of ['/first.json', '/second.json']) {
          const r = await t.gql(AddIntegration, { organisationId: org, jsonUrl: `${url}${path}` });
          expect(r.addIntegration.__typename).toBe('MutationAddIntegrationSuccess');
        }
        expect(resets).toBeGreaterThanOrEqual(1);
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('lists with filters, updates, refreshes and removes', async () => {
      const all = await t.gql(ListIntegrations, { id: orgId });
      const names = all.organisation?.integrations.map((i) => i.integrationType);
      expect(names).toEqual(['MODIFIER', 'OUTPUT', 'INTERVAL']);
      const outputs = await t.gql(ListIntegrations, { id: orgId, type: 'OUTPUT' });
      expect(outputs.organisation?.integrations.map((i) => i.appName)).toEqual(['Uptime Relay']);
      const monitoring = await t.gql(ListIntegrations, { id: orgId, category: 'Monitoring & Logging' });
      expect(monitoring.organisation?.integrations).toHaveLength(2);

      const modifierId = all.organisation!.integrations[0].id;
      const updated = await t.gql(UpdateIntegration, { id: modifierId, name: 'My modifier', isActive: false, authCredential: 'another-secret-9876' });
      expect(updated.updateIntegration).toMatchObject({ data: { name: 'My modifier', isActive: false, authCredential: '********9876' } });
      const inactive = await t.gql(ListIntegrations, { id: orgId, active: false });
      expect(inactive.organisation?.integrations.map((i) => i.id)).toEqual([modifierId]);

      const refreshed = await t.gql(RefreshIntegration, { id: modifierId, jsonUrl: `${specs.url}/modifier-v2.json` });
      expect(refreshed.refreshIntegration).toMatchObject({ data: { appName: 'Renamed', jsonUrl: `${specs.url}/modifier-v2.json`, settingsSchema: [] } });
      const wrongType = await t.gql(RefreshIntegration, { id: modifierId, jsonUrl: `${specs.url}/output.json` });
      expect(wrongType.refreshIntegration).toMatchObject({ __typename: 'ValidationError', field: 'jsonUrl' });

      const removed = await t.gql(RemoveIntegration, { id: modifierId });
      expect(removed.removeIntegration).toMatchObject({ data: { id: modifierId } });
      const again = await t.gql(RemoveIntegration, { id: modifierId });
      expect(again.removeIntegration.__typename).toBe('NotFoundError');
    });

    it('switches integrations on and off for a channel, in order', async () => {
      const a = await add('/modifier.json');
      const b = await add('/output.json');
      if (a.__typename !== 'MutationAddIntegrationSuccess' || b.__typename !== 'MutationAddIntegrationSuccess') throw new Error('add failed');
      await t.gql(Enable, { integrationId: a.data.id, channelId, position: 5 });
      await t.gql(Enable, { integrationId: b.data.id, channelId, position: 1 });
      const again = await t.gql(Enable, { integrationId: b.data.id, channelId });
      expect(again.enableIntegration).toMatchObject({ data: { position: 1 } });
      const listed = await t.gql(ChannelIntegrations, { id: channelId });
      expect(listed.channel?.integrations.map((l) => [l.position, l.integration.appName])).toEqual([
        [1, 'Uptime Relay'],
        [5, 'Name of the application.'],
      ]);
      // Switched on by several requests at once: each answers with the one link, none fails.
      const c = await add('/output.json');
      if (c.__typename !== 'MutationAddIntegrationSuccess') throw new Error('add failed');
      const raced = await Promise.all(Array.from({ length: 6 }, () => t.gql(Enable, { integrationId: c.data.id, channelId })));
      const ids = new Set(raced.map((r) => (r.enableIntegration.__typename === 'MutationEnableIntegrationSuccess' ? r.enableIntegration.data.id : r.enableIntegration.__typename)));
      expect([...ids]).toHaveLength(1);
      expect([...ids][0]).toMatch(/^[0-9a-f-]{36}$/);
      await t.gql(Disable, { integrationId: c.data.id, channelId });
      const neg = await t.gql(Enable, { integrationId: a.data.id, channelId, position: -1 });
      expect(neg.enableIntegration).toMatchObject({ __typename: 'ValidationError' });
      await t.gql(Disable, { integrationId: b.data.id, channelId });
      const twice = await t.gql(Disable, { integrationId: b.data.id, channelId });
      expect(twice.disableIntegration.__typename).toBe('ConflictError');
      const after = await t.gql(ChannelIntegrations, { id: channelId });
      expect(after.channel?.integrations.map((l) => l.integration.appName)).toEqual(['Name of the application.']);
    });
  });
}

describe('outbound guard without OUTBOUND_ALLOW_PRIVATE', () => {
  let t: TestApp;
  let specs: LocalServer;
  beforeAll(async () => {
    t = await startTestApp('sqlite', { OUTBOUND_ALLOW_PRIVATE: 'false' });
    specs = await serveJson({ '/modifier.json': documentedModifier('https://example.com/hook') });
  });
  afterAll(async () => {
    await specs.close();
    await t.close();
  });

  it('refuses a spec on a loopback address', async () => {
    const orgId = await createOrg(t, 'Guarded');
    const r = await t.gql(AddIntegration, { organisationId: orgId, jsonUrl: `${specs.url}/modifier.json` });
    expect(r.addIntegration).toMatchObject({ __typename: 'ValidationError', field: 'jsonUrl' });
    expect((r.addIntegration as { message: string }).message).toMatch(/private, loopback or link-local/);
    expect(specs.requests).toHaveLength(0);
  });
});

describe('outbound time limit', () => {
  let t: TestApp;
  let slow: LocalServer;
  beforeAll(async () => {
    t = await startTestApp('sqlite', { OUTBOUND_TIMEOUT_MS: '300' });
    slow = await startServer(async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      json(res, 200, documentedModifier('https://example.com/hook'));
    });
  });
  afterAll(async () => {
    await slow.close();
    await t.close();
  });

  it('gives up on a spec server that does not answer in time', async () => {
    const orgId = await createOrg(t, 'Slow');
    const r = await t.gql(AddIntegration, { organisationId: orgId, jsonUrl: `${slow.url}/spec.json` });
    expect(r.addIntegration).toMatchObject({ __typename: 'ValidationError', field: 'jsonUrl' });
    expect((r.addIntegration as { message: string }).message).toMatch(/did not answer in time/);
  });
});
