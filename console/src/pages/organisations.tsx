import { useState } from 'preact/hooks';
import { mutate } from '../client';
import { graphql } from '../graphql';
import { ActionForm, List, Loading, TextField, count, link, useAction, useQuery } from '../ui';

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
      ... on MutationCreateOrganisationSuccess { data { id name } }
      ...ConsoleFailure
    }
  }
`);

export function OrganisationsPage() {
  const orgs = useQuery(Organisations, {}, 'organisations');
  const [name, setName] = useState('');
  const create = useAction();
  return (
    <>
      <h1 tabIndex={-1}>Organisations</h1>
      <Loading what={orgs} />
      {orgs.data && (
        <List label="Your organisations" empty="You are not a member of any organisation yet: create one below.">
          {orgs.data.organisations.map((o) => (
            <li key={o.id}>
              <a href={link('o', o.id)}>{o.name}</a>
              <span class="muted">
                {o.viewerRole.toLowerCase()} · {count(o.channels.edges.length, 'channel')}
              </span>
            </li>
          ))}
        </List>
      )}
      <section class="card" aria-labelledby="new-org">
        <h2 id="new-org">New organisation</h2>
        <ActionForm
          action={create}
          class="row"
          submit="Create organisation"
          onSubmit={async () => {
            const org = await mutate(CreateOrganisation, { input: { name } });
            setName('');
            location.hash = link('o', org.id);
          }}
        >
          <TextField id="org-name" name="name" label="Name" required maxLength={200} value={name} onValue={setName} />
        </ActionForm>
      </section>
    </>
  );
}
