/**
 * Privacy: a user's e-mail is shown to that user and to gateway administrators only; people join an organisation
 * by an invitation they accept, and inviting (or trying to change or remove) a name answers the same whether or
 * not that user exists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { createOrg } from './support/seed.js';
import { databases } from './support/services.js';

type Raw = Awaited<ReturnType<TestApp['gqlRaw']>>;

for (const db of databases) {
  describe(`privacy of users (${db})`, () => {
    let t: TestApp;
    const users: Record<string, { id: string; token: string }> = {};
    beforeAll(async () => {
      t = await startTestApp(db);
      for (const [name, email] of [['olive', 'olive@example.org'], ['eve', 'eve@example.org'], ['mallory', 'mallory@example.org'], ['trent', null]] as const) {
        const r = await t.gqlRaw(
          'mutation($n: String!, $e: String) { createUser(input: { name: $n, email: $e }) { ... on MutationCreateUserSuccess { data { token user { id email } } } } }',
          { n: name, e: email },
        );
        const d = (r.data as { createUser: { data: { token: string; user: { id: string; email: string | null } } } }).createUser.data;
        // The administrator who created the user sees the address.
        expect(d.user.email).toBe(email);
        users[name] = { id: d.user.id, token: d.token };
      }
    });
    afterAll(() => t.close());

    const as = (name: string, query: string, variables?: Record<string, unknown>) => t.gqlRaw(query, variables, users[name].token);
    const INVITE = 'mutation($o: ID!, $u: String!, $r: Role!) { inviteMember(input: { organisationId: $o, user: $u, role: $r }) { __typename ... on MutationInviteMemberSuccess { data { id organisationId organisationName invitee role invitedBy createdAt expiresAt } } ... on Error { message } ... on ConflictError { field } } }';
    const MY_INVITATIONS = '{ viewer { invitations { id organisationId organisationName invitee role invitedBy } } }';
    const ACCEPT = 'mutation($id: ID!) { acceptInvitation(input: { id: $id }) { __typename ... on MutationAcceptInvitationSuccess { data { role user { name } } } ... on Error { message } } }';
    const DECLINE = 'mutation($id: ID!) { declineInvitation(input: { id: $id }) { __typename ... on Error { message } } }';
    const CANCEL = 'mutation($id: ID!) { cancelInvitation(input: { id: $id }) { __typename ... on Error { message } } }';
    const MEMBERS = 'query($o: ID!) { organisation(id: $o) { members { role user { name email } } invitations { invitee role } } }';
    const invitation = (r: Raw) => (r.data as { inviteMember: { __typename: string; data?: Record<string, string> } }).inviteMember;
    /** An answer with what differs by construction (the typed name, ids, times) masked. */
    const shape = (r: Raw, typed: string) =>
      JSON.parse(
        JSON.stringify(r)
          .replaceAll(typed, '<typed>')
          .replace(/"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"/g, '"<id>"')
          .replace(/"\d{4}-\d\d-\d\dT[\d:.]+Z"/g, '"<time>"'),
      );

    it("shows a user's e-mail to that user and to administrators only", async () => {
      expect((await as('eve', '{ viewer { name email } }')).data).toEqual({ viewer: { name: 'eve', email: 'eve@example.org' } });
      const org = await createOrg(t, 'Mail', users.olive.token);
      await joinBy(org, 'olive', 'eve', 'MEMBER');
      // A fellow member, even the owner, reads null; the administrator (once a member) reads it.
      const byOwner = await as('olive', MEMBERS, { o: org });
      expect(byOwner.data).toEqual({
        organisation: {
          members: [
            { role: 'OWNER', user: { name: 'olive', email: 'olive@example.org' } },
            { role: 'MEMBER', user: { name: 'eve', email: null } },
          ],
          invitations: [],
        },
      });
      await joinBy(org, 'olive', 'admin', 'MEMBER', t.token);
      const byAdmin = await t.gqlRaw(MEMBERS, { o: org });
      expect((byAdmin.data as { organisation: { members: { user: { name: string; email: string | null } }[] } }).organisation.members.map((m) => m.user)).toEqual([
        { name: 'olive', email: 'olive@example.org' },
        { name: 'eve', email: 'eve@example.org' },
        { name: 'admin', email: null },
      ]);
      expect(JSON.stringify(await as('eve', MEMBERS, { o: org }))).not.toContain('olive@example.org');
    });

    it('answers inviting, changing and removing a name the same whether or not the user exists, and reveals nothing about them', async () => {
      const org = await createOrg(t, 'Probe', users.mallory.token);
      for (const [known, unknown] of [
        ['eve', 'nobody-at-all'],
        [users.eve.id, '0b9c6f0e-54a4-4c43-9d7e-6a9bff0c1a11'],
      ]) {
        const a = await as('mallory', INVITE, { o: org, u: known, r: 'MEMBER' });
        const b = await as('mallory', INVITE, { o: org, u: unknown, r: 'MEMBER' });
        expect(invitation(a).__typename).toBe('MutationInviteMemberSuccess');
        expect(shape(a, known)).toEqual(shape(b, unknown));
        expect(JSON.stringify(a)).not.toMatch(/eve@example\.org|"email"/);
        expect(invitation(a).data).toMatchObject({ invitee: known, organisationName: 'Probe', role: 'MEMBER', invitedBy: 'mallory' });

        const setKnown = await as('mallory', 'mutation($o: ID!, $u: String!) { setMember(input: { organisationId: $o, user: $u, role: ADMIN }) { __typename ... on Error { message } } }', { o: org, u: known });
        const setUnknown = await as('mallory', 'mutation($o: ID!, $u: String!) { setMember(input: { organisationId: $o, user: $u, role: ADMIN }) { __typename ... on Error { message } } }', { o: org, u: unknown });
        expect(shape(setKnown, known)).toEqual(shape(setUnknown, unknown));
        expect((setKnown.data as { setMember: { __typename: string } }).setMember.__typename).toBe('NotFoundError');
        const rmKnown = await as('mallory', 'mutation($o: ID!, $u: String!) { removeMember(input: { organisationId: $o, user: $u }) { __typename ... on Error { message } } }', { o: org, u: known });
        const rmUnknown = await as('mallory', 'mutation($o: ID!, $u: String!) { removeMember(input: { organisationId: $o, user: $u }) { __typename ... on Error { message } } }', { o: org, u: unknown });
        expect(shape(rmKnown, known)).toEqual(shape(rmUnknown, unknown));
      }
      // The organisation's list shows each invitation as typed, known and unknown alike; nobody was added.
      const members = await as('mallory', MEMBERS, { o: org });
      expect(members.data).toEqual({
        organisation: {
          members: [{ role: 'OWNER', user: { name: 'mallory', email: 'mallory@example.org' } }],
          invitations: [
            { invitee: 'eve', role: 'MEMBER' },
            { invitee: 'nobody-at-all', role: 'MEMBER' },
            { invitee: users.eve.id, role: 'MEMBER' },
            { invitee: '0b9c6f0e-54a4-4c43-9d7e-6a9bff0c1a11', role: 'MEMBER' },
          ],
        },
      });
      // Eve is not in Probe and sees its invitations (both of them, by name and by id) until she answers.
      const mine = await as('eve', MY_INVITATIONS);
      const probe = (mine.data as { viewer: { invitations: { id: string; organisationName: string; invitee: string }[] } }).viewer.invitations.filter((i) => i.organisationName === 'Probe');
      expect(probe.map((i) => i.invitee).sort()).toEqual(['eve', users.eve.id].sort());
      expect(await as('eve', '{ organisations { name } }')).toEqual({ data: { organisations: expect.not.arrayContaining([{ name: 'Probe' }]) } });
      // Declining leaves the organisation none the wiser: the invitation stays listed there.
      for (const i of probe) expect(await as('eve', DECLINE, { id: i.id })).toEqual({ data: { declineInvitation: { __typename: 'MutationDeclineInvitationSuccess' } } });
      const after = await as('eve', MY_INVITATIONS);
      expect(JSON.stringify(after)).not.toContain('Probe');
      expect(((await as('mallory', MEMBERS, { o: org })).data as { organisation: { invitations: unknown[] } }).organisation.invitations).toHaveLength(4);
      // A declined invitation cannot be accepted.
      expect((await as('eve', ACCEPT, { id: probe[0].id })).data).toMatchObject({ acceptInvitation: { __typename: 'NotFoundError' } });
    });

    it('joins by invitation: only the invitee sees and accepts it, with the role given; members are refused, admins manage the list', async () => {
      const org = await createOrg(t, 'Club', users.olive.token);
      const made = invitation(await as('olive', INVITE, { o: org, u: 'trent', r: 'ADMIN' }));
      const id = made.data!.id;
      // Someone else can neither see nor accept nor decline it.
      expect(JSON.stringify(await as('mallory', MY_INVITATIONS))).not.toContain(id);
      expect((await as('mallory', ACCEPT, { id })).data).toMatchObject({ acceptInvitation: { __typename: 'NotFoundError' } });
      expect((await as('mallory', DECLINE, { id })).data).toMatchObject({ declineInvitation: { __typename: 'NotFoundError' } });
      expect((await as('mallory', CANCEL, { id })).data).toMatchObject({ cancelInvitation: { __typename: 'NotFoundError' } });
      expect((await as('mallory', MEMBERS, { o: org })).data).toEqual({ organisation: null });
      // Trent sees it and accepts: he is an admin of Club.
      const mine = await as('trent', MY_INVITATIONS);
      expect((mine.data as { viewer: { invitations: unknown[] } }).viewer.invitations).toEqual([
        { id, organisationId: org, organisationName: 'Club', invitee: 'trent', role: 'ADMIN', invitedBy: 'olive' },
      ]);
      expect(await as('trent', ACCEPT, { id })).toEqual({ data: { acceptInvitation: { __typename: 'MutationAcceptInvitationSuccess', data: { role: 'ADMIN', user: { name: 'trent' } } } } });
      expect((await as('trent', ACCEPT, { id })).data).toMatchObject({ acceptInvitation: { __typename: 'NotFoundError' } });
      expect((await as('trent', MEMBERS, { o: org })).data).toMatchObject({ organisation: { members: [{ user: { name: 'olive' } }, { role: 'ADMIN', user: { name: 'trent', email: null } }], invitations: [] } });
      // A member's name is a conflict (members are visible to the organisation anyway); an admin cannot invite an owner.
      expect(invitation(await as('olive', INVITE, { o: org, u: 'trent', r: 'MEMBER' }))).toMatchObject({ __typename: 'ConflictError', field: 'user' });
      expect(invitation(await as('trent', INVITE, { o: org, u: 'eve', r: 'OWNER' }))).toMatchObject({ __typename: 'ForbiddenError' });
      // An admin takes an invitation back; a plain member sees no invitations.
      const second = invitation(await as('trent', INVITE, { o: org, u: 'eve', r: 'MEMBER' })).data!.id;
      expect((await as('trent', CANCEL, { id: second })).data).toEqual({ cancelInvitation: { __typename: 'MutationCancelInvitationSuccess' } });
      expect(JSON.stringify(await as('eve', MY_INVITATIONS))).not.toContain(second);
      await joinBy(org, 'olive', 'eve', 'MEMBER');
      expect((await as('eve', MEMBERS, { o: org })).data).toMatchObject({ organisation: { invitations: null } });
      // Inviting reaches no other organisation: an outsider's invitation to Club is refused as not found.
      expect(invitation(await as('mallory', INVITE, { o: org, u: 'mallory', r: 'OWNER' }))).toMatchObject({ __typename: 'NotFoundError' });
    });

    /** `inviter` invites `invitee` (by name) and the invitee accepts. */
    async function joinBy(org: string, inviter: string, invitee: string, role: string, inviteeToken = users[invitee]?.token) {
      const made = invitation(await as(inviter, INVITE, { o: org, u: invitee, r: role }));
      if (!made.data) throw new Error(JSON.stringify(made));
      const accepted = await t.gqlRaw(ACCEPT, { id: made.data.id }, inviteeToken);
      expect((accepted.data as { acceptInvitation: { __typename: string } }).acceptInvitation.__typename).toBe('MutationAcceptInvitationSuccess');
    }
  });
}
