import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape, startOpsApp, type OpsApp } from './support/ops.js';
import { json, serveJson, startServer, type LocalServer } from './support/http-server.js';
import { addIntegration, createChannel, createOrg } from './support/seed.js';
import { databases } from './support/services.js';
import { until } from './support/wait.js';

function spec(type: 'modifier' | 'output', targetUrl: string, name: string) {
  return { data: { descriptions: { app_name: name }, integration_type: type, is_active: true, settings: [], target_url: targetUrl } };
}

for (const db of databases) {
  describe(`modifier and delivery metrics (${db})`, () => {
    let t: OpsApp;
    const servers: LocalServer[] = [];
    beforeAll(async () => {
      t = await startOpsApp(db, { level: 'warn', env: { MODIFIER_BUDGET_MS: '300' } });
    });
    afterAll(async () => {
      await t?.close();
      await Promise.all(servers.map((s) => s.close()));
    });

    it('moves modifier latency and skips, and deliveries by outcome, by exactly the traffic sent', async () => {
      const target = await startServer(async (req, res) => {
        const body = req.json as { message: string };
        if (req.url === '/rewrite') return json(res, 200, { message: body.message.toUpperCase() });
        if (req.url === '/slow') {
          await new Promise((r) => setTimeout(r, 1_000));
          return json(res, 200, { message: 'too late' });
        }
        if (req.url === '/out-ok') return json(res, 202, {});
        json(res, 500, { error: 'down' });
      });
      servers.push(target);
      const parts = [
        ['rewrite', 'modifier', '/rewrite'],
        ['slow', 'modifier', '/slow'],
        ['out-ok', 'output', '/out-ok'],
        ['out-down', 'output', '/out-down'],
      ] as const;
      const specs = await serveJson(Object.fromEntries(parts.map(([name, type, path]) => [`/${name}.json`, spec(type, `${target.url}${path}`, name)])));
      servers.push(specs);
      const org = await createOrg(t, `metered-${db}`);
      const channel = await createChannel(t, org, 'metered');
      for (const [i, [name]] of parts.entries()) {
        const integrationId = await addIntegration(t, org, `${specs.url}/${name}.json`);
        const r = await t.gqlRaw(
          'mutation($i: ID!, $c: ID!, $p: Int) { enableIntegration(input: { integrationId: $i, channelId: $c, position: $p }) { __typename } }',
          { i: integrationId, c: channel.id, p: i },
        );
        expect(r.data).toMatchObject({ enableIntegration: { __typename: 'MutationEnableIntegrationSuccess' } });
      }

      const before = await scrape(t.url);
      const res = await fetch(`${t.url}/v1/webhooks/${channel.id}?message=hello&event_name=e&status=success&username=u`);
      expect(res.status).toBe(202);
      // Both outputs answered and their attempts are recorded (the failed one has its retry queued).
      await until(async () => {
        const r = await t.gqlRaw('query($id: ID!) { channel(id: $id) { deliveries(kind: "output") { edges { node { status } } } } }', { id: channel.id });
        const statuses = (r.data as { channel: { deliveries: { edges: { node: { status: string } }[] } } }).channel.deliveries.edges.map((e) => e.node.status);
        return statuses.includes('succeeded') && statuses.includes('retried');
      });
      const after = await scrape(t.url);
      const delta = (name: string, labels: Record<string, string> = {}) => after(name, labels) - before(name, labels);

      expect(delta('switchboard_modifier_duration_seconds_count', { outcome: 'applied' })).toBe(1);
      expect(delta('switchboard_modifier_duration_seconds_count', { outcome: 'skipped' })).toBe(1);
      // The skipped call took at least the 300 ms budget.
      expect(delta('switchboard_modifier_duration_seconds_sum', { outcome: 'skipped' })).toBeGreaterThanOrEqual(0.3);
      expect(delta('switchboard_modifier_skips_total', { reason: 'timeout' })).toBe(1);
      expect(delta('switchboard_modifier_skips_total')).toBe(1);

      expect(delta('switchboard_deliveries_total', { kind: 'modifier', outcome: 'success' })).toBe(1);
      expect(delta('switchboard_deliveries_total', { kind: 'modifier', outcome: 'failure' })).toBe(1);
      expect(delta('switchboard_deliveries_total', { kind: 'output', outcome: 'success' })).toBe(1);
      expect(delta('switchboard_deliveries_total', { kind: 'output', outcome: 'retry_scheduled' })).toBe(1);
      expect(delta('switchboard_deliveries_total')).toBe(4);
    });
  });
}
