/** Typed shortcuts to create what most tests start from, through the real GraphQL door. */
import { graphql } from '../gql/index.js';
import type { TestApp } from './app.js';

const SeedOrg = graphql(`
  mutation SeedOrg($name: String!) {
    createOrganisation(input: { name: $name }) { __typename ... on MutationCreateOrganisationSuccess { data { id } } ... on Error { message } }
  }
`);

const SeedChannel = graphql(`
  mutation SeedChannel($organisationId: ID!, $name: String!) {
    createChannel(input: { organisationId: $organisationId, name: $name }) {
      __typename
      ... on MutationCreateChannelSuccess { data { id webhookUrl } }
      ... on Error { message }
    }
  }
`);

const SeedIntegration = graphql(`
  mutation SeedIntegration($organisationId: ID!, $jsonUrl: String!) {
    addIntegration(input: { organisationId: $organisationId, jsonUrl: $jsonUrl }) {
      __typename
      ... on MutationAddIntegrationSuccess { data { id } }
      ... on Error { message }
    }
  }
`);

const SeedUser = graphql(`
  mutation SeedUser($name: String!) {
    createUser(input: { name: $name }) { __typename ... on MutationCreateUserSuccess { data { token user { id } } } ... on Error { message } }
  }
`);

const SeedMember = graphql(`
  mutation SeedMember($organisationId: ID!, $user: String!, $role: Role!) {
    setMember(input: { organisationId: $organisationId, user: $user, role: $role }) { __typename ... on Error { message } }
  }
`);

const SeedInvite = graphql(`
  mutation SeedInvite($organisationId: ID!, $user: String!, $role: Role!) {
    inviteMember(input: { organisationId: $organisationId, user: $user, role: $role }) {
      __typename
      ... on MutationInviteMemberSuccess { data { id } }
      ... on Error { message }
    }
  }
`);

const SeedAccept = graphql(`
  mutation SeedAccept($id: ID!) {
    acceptInvitation(input: { id: $id }) { __typename ... on Error { message } }
  }
`);

function data<T extends { __typename?: string }>(result: T): Extract<T, { data: unknown }>['data'] {
  if (!('data' in result)) throw new Error(`expected success, got ${JSON.stringify(result)}`);
  return (result as unknown as { data: never }).data;
}

export async function createOrg(t: TestApp, name: string, token?: string): Promise<string> {
  return data((await t.gql(SeedOrg, { name }, token)).createOrganisation).id;
}

export async function createChannel(t: TestApp, organisationId: string, name: string, token?: string) {
  return data((await t.gql(SeedChannel, { organisationId, name }, token)).createChannel);
}

export async function addIntegration(t: TestApp, organisationId: string, jsonUrl: string, token?: string): Promise<string> {
  return data((await t.gql(SeedIntegration, { organisationId, jsonUrl }, token)).addIntegration).id;
}

/** A new non-admin user (created by the admin) and their token. */
export async function createUser(t: TestApp, name: string): Promise<{ id: string; token: string }> {
  const d = data((await t.gql(SeedUser, { name })).createUser);
  return { id: d.user.id, token: d.token };
}

/**
 * Make `user` (id or name) a member with `role`. With `inviteeToken` (the user's own token), as people join: the
 * caller invites and the invitee accepts. Without it, setMember: a gateway administrator (the default caller) adds
 * the user directly, and anyone changes an existing member's role.
 */
export async function addMember(t: TestApp, organisationId: string, user: string, role: 'MEMBER' | 'ADMIN' | 'OWNER', token?: string, inviteeToken?: string) {
  if (inviteeToken) {
    const invited = (await t.gql(SeedInvite, { organisationId, user, role }, token)).inviteMember;
    const accepted = (await t.gql(SeedAccept, { id: data(invited).id }, inviteeToken)).acceptInvitation;
    if (accepted.__typename !== 'MutationAcceptInvitationSuccess') throw new Error(JSON.stringify(accepted));
    return;
  }
  const r = (await t.gql(SeedMember, { organisationId, user, role }, token)).setMember;
  if (r.__typename !== 'MutationSetMemberSuccess') throw new Error(JSON.stringify(r));
}
