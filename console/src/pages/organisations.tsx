import { useState } from 'preact/hooks';
import { ok, request } from '../client';
import { graphql } from '../graphql';
import { ActionNotes, Loading, link, useAction, useQuery } from '../ui';

const Organisations = graphql(`
  query ConsoleOrganisations {
    organisations {
      id
      name
      viewerRole
      channels(first: 100) {
        edges {
          node {
            id
          }
        }
      }
    }
  }
`);

const CreateOrganisation = graphql(`
  mutation ConsoleCreateOrganisation($input: CreateOrganisationInput!) {
    createOrganisation(input: $input) {
      __typename
      ... on MutationCreateOrganisationSuccess {
        data {
          id
          name
        }
      }
      ... on Error {
        message
      }
      ... on ValidationError {
        field
      }
    }
  }
`);

export function OrganisationsPage() {
  const orgs = useQuery(Organisations, {}, 'organisations');
  const [name, setName] = useState('');
  const create = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void create.run(async () => {
      const org = ok((await request(CreateOrganisation, { input: { name } })).createOrganisation);
      setName('');
      location.hash = link('o', org.id);
    });
  };
  return (
    <>
      <h1 tabIndex={-1}>Organisations</h1>
      <Loading what={orgs} />
      {orgs.data && (
        <ul class="list" aria-label="Your organisations">
          {orgs.data.organisations.length === 0 && <li class="muted">You are not a member of any organisation yet: create one below.</li>}
          {orgs.data.organisations.map((o) => (
            <li key={o.id}>
              <a href={link('o', o.id)}>{o.name}</a>
              <span class="muted">
                {' '}
                {o.viewerRole.toLowerCase()} · {o.channels.edges.length} channel{o.channels.edges.length === 1 ? '' : 's'}
              </span>
            </li>
          ))}
        </ul>
      )}
      <section class="card" aria-labelledby="new-org">
        <h2 id="new-org">New organisation</h2>
        <form onSubmit={submit} class="row">
          <label for="org-name">Name</label>
          <input id="org-name" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          <button type="submit" disabled={create.busy}>
            Create organisation
          </button>
        </form>
        <ActionNotes action={create} />
      </section>
    </>
  );
}
