import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './gql/index.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './support/app.js';
import { addMember, createChannel, createOrg, createUser } from './support/seed.js';
import { databases } from './support/services.js';

const ViewerId = graphql(`query RcNplusOneViewer { viewer { id } }`);

interface Auth {
  token: string;
  userId: string;
}

for (const db of databases) {
  describe(`Rocket.Chat integrations without N+1 (${db})`, () => {
    let t: TestApp;
    let admin: Auth;
    const created: { id: string; by: Auth; editedByAdmin: boolean }[] = [];

    async function call(method: string, path: string, auth: Auth, body?: unknown) {
      const res = await fetch(`${t.url}${path}`, {
        method,
        headers: { 'x-auth-token': auth.token, 'x-user-id': auth.userId, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    }

    beforeAll(async () => {
      t = await startTestApp(db);
      const orgId = await createOrg(t, 'Counted');
      admin = { token: ADMIN_TOKEN, userId: (await t.gql(ViewerId)).viewer!.id };
      await createChannel(t, orgId, 'general');
      const members: Auth[] = [];
      for (let i = 0; i < 4; i++) {
        const user = await createUser(t, `counted-${db}-${i}`);
        await addMember(t, orgId, user.id, 'MEMBER');
        members.push({ token: user.token, userId: user.id });
      }
      // 20 integrations by 4 different members, every third then changed by the admin (another _updatedBy).
      for (let i = 0; i < 20; i++) {
        const by = members[i % members.length];
        const type = i % 2 ? 'webhook-incoming' : 'webhook-outgoing';
        const made = await call('POST', '/api/v1/integrations.create', by, {
          type,
          username: 'bot',
          channel: '#general',
          scriptEnabled: false,
          name: `counted ${i}`,
          enabled: true,
          event: 'sendMessage',
          urls: ['https://example.com/hook'],
          token: 'outgoing-token-1234',
        });
        expect(made.status).toBe(200);
        const editedByAdmin = i % 3 === 0;
        if (editedByAdmin) {
          const edited = await call('PUT', '/api/v1/integrations.update', admin, { type, integrationId: made.body.integration._id, name: `counted ${i} (edited)` });
          expect(edited.status).toBe(200);
        }
        created.push({ id: made.body.integration._id, by, editedByAdmin });
      }
    });
    afterAll(() => t.close());

    async function countedRun(method: string, path: string, auth: Auth) {
      const knex = (t.app.orm.em.getConnection() as unknown as { getKnex(): { on(e: string, f: () => void): void; off(e: string, f: () => void): void } }).getKnex();
      let count = 0;
      const listener = () => void count++;
      knex.on('query', listener);
      try {
        const answer = await call(method, path, auth);
        return { count, answer };
      } finally {
        knex.off('query', listener);
      }
    }

    /**
     * SQL statements the gateway runs while answering one request. Background work (the scheduler's and the
     * delivery worker's polls) shares the connection, so the fewest of three answers is the request's own.
     */
    async function statementsFor(path: string, auth: Auth) {
      const runs = [await countedRun('GET', path, auth), await countedRun('GET', path, auth), await countedRun('GET', path, auth)];
      return runs.reduce((a, b) => (b.count < a.count ? b : a));
    }

    it('lists a page of 20 integrations by several users in as many statements as a page of 1', async () => {
      const one = await statementsFor('/api/v1/integrations.list?count=1', admin);
      const twenty = await statementsFor('/api/v1/integrations.list?count=20', admin);
      expect(one.answer.body.integrations).toHaveLength(1);
      const page = twenty.answer.body.integrations as { _id: string; _createdBy: { _id: string; username: string }; _updatedBy?: { username: string }; token?: string }[];
      expect(page).toHaveLength(20);
      // The users are there, with their names: looked up with the page, not one by one.
      for (const entry of page) {
        const made = created.find((c) => c.id === entry._id)!;
        expect(entry._createdBy).toEqual({ _id: made.by.userId, username: expect.stringMatching(/^counted-/) });
        if (made.editedByAdmin) expect(entry._updatedBy).toEqual({ _id: admin.userId, username: 'admin' });
        else expect(entry._updatedBy).toBeUndefined();
      }
      expect(one.count).toBeGreaterThan(0);
      expect(twenty.count).toBe(one.count);
    });

    it('gets an integration created and changed by others in as many statements as one of your own', async () => {
      const others = created.find((c) => c.editedByAdmin)!;
      const own = created.find((c) => !c.editedByAdmin)!;
      const asAdmin = await statementsFor(`/api/v1/integrations.get?integrationId=${others.id}`, admin);
      const asCreator = await statementsFor(`/api/v1/integrations.get?integrationId=${own.id}`, own.by);
      expect(asAdmin.answer.body.integration._createdBy._id).toBe(others.by.userId);
      expect(asCreator.answer.body.integration._createdBy._id).toBe(own.by.userId);
      expect(asAdmin.count).toBe(asCreator.count);
    });
  });
}
