import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentedModifier, realWorldOutput } from './fixtures/specs.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './support/app.js';
import { serveJson, type LocalServer } from './support/http-server.js';
import { addIntegration, createChannel, createOrg } from './support/seed.js';
import { databases } from './support/services.js';

const Tree = graphql(`
  query Tree($id: ID!) {
    organisation(id: $id) {
      id
      name
      integrations { id appName organisation { id } settings { label value } }
      channels(first: 100) {
        edges {
          node {
            id
            name
            integrations {
              position
              channel { id }
              integration { id appName settings { label value } }
              settings { label value }
              effectiveSettings { label value source }
            }
          }
        }
      }
    }
  }
`);

const Enable = graphql(`
  mutation TreeEnable($integrationId: ID!, $channelId: ID!) {
    enableIntegration(input: { integrationId: $integrationId, channelId: $channelId }) { __typename }
  }
`);

const SetOrg = graphql(`
  mutation TreeSetOrg($integrationId: ID!, $label: String!, $value: JSON) {
    setIntegrationSetting(input: { integrationId: $integrationId, label: $label, value: $value }) { __typename }
  }
`);

const SetChannel = graphql(`
  mutation TreeSetChannel($integrationId: ID!, $channelId: ID!, $label: String!, $value: JSON) {
    setChannelIntegrationSetting(input: { integrationId: $integrationId, channelId: $channelId, label: $label, value: $value }) { __typename }
  }
`);

for (const db of databases) {
  describe(`no N+1 (${db})`, () => {
    let t: TestApp;
    let specs: LocalServer;
    beforeAll(async () => {
      t = await startTestApp(db);
      specs = await serveJson({ '/m.json': documentedModifier('https://example.com/m'), '/o.json': realWorldOutput('https://example.com/o') });
    });
    afterAll(async () => {
      await specs.close();
      await t.close();
    });

    async function seed(channels: number, integrations: number) {
      const orgId = await createOrg(t, `tree-${channels}x${integrations}`);
      const integrationIds: string[] = [];
      for (let i = 0; i < integrations; i++) {
        const id = await addIntegration(t, orgId, `${specs.url}/${i % 2 ? 'o' : 'm'}.json`);
        integrationIds.push(id);
        await t.gql(SetOrg, { integrationId: id, label: 'note', value: `org-${i}` });
      }
      for (let c = 0; c < channels; c++) {
        const channelId = (await createChannel(t, orgId, `c${c}`)).id;
        for (const integrationId of integrationIds) {
          await t.gql(Enable, { integrationId, channelId });
          await t.gql(SetChannel, { integrationId, channelId, label: 'note', value: `ch-${c}` });
        }
      }
      return orgId;
    }

    /**
     * SQL statements the gateway runs while answering one query. Background work (the scheduler's and the
     * delivery worker's polls) shares the connection, so the fewest of three answers is the query's own.
     */
    async function statementsFor(orgId: string) {
      const runs = [await countedRun(orgId), await countedRun(orgId), await countedRun(orgId)];
      return runs.reduce((a, b) => (b.count < a.count ? b : a));
    }

    async function countedRun(orgId: string) {
      const knex = (t.app.orm.em.getConnection() as unknown as { getKnex(): { on(e: string, f: () => void): void; off(e: string, f: () => void): void } }).getKnex();
      let count = 0;
      const listener = () => void count++;
      knex.on('query', listener);
      try {
        const result = await t.gql(Tree, { id: orgId });
        return { count, result };
      } finally {
        knex.off('query', listener);
      }
    }

    it('answers organisation → channels → integrations → settings in a number of statements that does not grow', async () => {
      const small = await statementsFor(await seed(1, 1));
      const large = await statementsFor(await seed(6, 4));
      const channels = large.result.organisation!.channels.edges;
      expect(channels).toHaveLength(6);
      expect(channels.every((e) => e.node.integrations.length === 4)).toBe(true);
      expect(channels[5].node.integrations[0].settings).toEqual([{ label: 'note', value: 'ch-5' }]);
      expect(large.result.organisation!.integrations[3].settings).toEqual([{ label: 'note', value: 'org-3' }]);
      expect(small.count).toBeGreaterThan(0);
      expect(large.count).toBe(small.count);
    });
  });
}
