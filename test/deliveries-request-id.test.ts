/**
 * A delivery keeps the id of the request it came from: its retry, made later by the worker's poll (outside
 * any request), logs under that id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Delivery } from '../src/modules/deliveries/delivery.entity.js';
import { json, serveJson, startServer, type LocalServer } from './support/http-server.js';
import { startOpsApp, type OpsApp } from './support/ops.js';
import { addIntegration, createChannel, createOrg } from './support/seed.js';
import { databases } from './support/services.js';
import { until } from './support/wait.js';

for (const db of databases) {
  describe(`delivery retries keep the request id (${db})`, () => {
    let t: OpsApp;
    const servers: LocalServer[] = [];
    beforeAll(async () => {
      t = await startOpsApp(db, { level: 'debug' });
    });
    afterAll(async () => {
      await t?.close();
      await Promise.all(servers.map((s) => s.close()));
    });

    it('stores the originating request id on every attempt and logs the retry under it', async () => {
      let calls = 0;
      const target = await startServer((_req, res) => json(res, ++calls === 1 ? 503 : 202, {}));
      const specs = await serveJson({
        '/out.json': { data: { descriptions: { app_name: 'Flaky' }, integration_type: 'output', is_active: true, settings: [], target_url: `${target.url}/out` } },
      });
      servers.push(target, specs);
      const org = await createOrg(t, 'Request ids');
      const channel = await createChannel(t, org, 'traced');
      const integrationId = await addIntegration(t, org, `${specs.url}/out.json`);
      await t.gqlRaw('mutation($i: ID!, $c: ID!) { enableIntegration(input: { integrationId: $i, channelId: $c }) { __typename } }', { i: integrationId, c: channel.id });

      const reqId = `trace-${db}-${Date.now()}`;
      const res = await fetch(`${t.url}/v1/webhooks/${channel.id}?message=traced&event_name=e&status=success&username=u`, { headers: { 'x-request-id': reqId } });
      expect(res.status).toBe(202);
      expect(res.headers.get('x-request-id')).toBe(reqId);
      const { data } = (await res.json()) as { data: { id: string } };

      // The first attempt fails; the second runs 5 s later from the worker's poll.
      const rows = async () => t.app.orm.em.fork().find(Delivery, { kind: 'output', messageId: data.id }, { orderBy: { attempt: 'asc' } });
      await until(async () => (await rows()).some((r) => r.status === 'succeeded'), 15_000, 'the retry');
      const attempts = await rows();
      expect(attempts.map((r) => ({ attempt: r.attempt, status: r.status, requestId: r.requestId }))).toEqual([
        { attempt: 1, status: 'retried', requestId: reqId },
        { attempt: 2, status: 'succeeded', requestId: reqId },
      ]);

      // Users see it in the history too, to find the log lines of a failed call.
      const history = await t.gqlRaw('query($id: ID!) { channel(id: $id) { deliveries(kind: "output") { edges { node { attempt requestId } } } } }', { id: channel.id });
      expect(history.data).toEqual({ channel: { deliveries: { edges: [{ node: { attempt: 2, requestId: reqId } }, { node: { attempt: 1, requestId: reqId } }] } } });

      const lines = t.logs.lines.filter((l) => l.deliveryId === attempts[0].id || l.deliveryId === attempts[1].id);
      expect(lines.map((l) => ({ msg: l.msg, attempt: l.attempt, reqId: l.reqId }))).toEqual([
        { msg: 'delivery attempt failed; retry scheduled', attempt: 1, reqId },
        { msg: 'delivery attempt succeeded', attempt: 2, reqId },
      ]);
    }, 30_000);
  });
}
