import { useState } from 'preact/hooks';
import { mutate } from '../client';
import { graphql } from '../graphql';
import {
  ActionButton,
  ActionForm,
  ActionNotes,
  Badge,
  CopyButton,
  Crumbs,
  IntegrationFacts,
  List,
  Loading,
  Notice,
  RenameForm,
  SpecHead,
  SpecWarnings,
  TextField,
  TypeBadge,
  count,
  link,
  useAction,
  useFields,
  useQuery,
  type Action,
} from '../ui';

const Organisation = graphql(`
  query ConsoleOrganisation($id: ID!) {
    organisation(id: $id) {
      id
      name
      viewerRole
      channels(first: 100) {
        edges {
          node {
            id
            name
            description
          }
        }
      }
      integrations {
        id
        name
        appName
        appLogo
        integrationType
        integrationCategory
        isActive
        allChannels
        channels {
          id
        }
      }
    }
  }
`);

const RenameOrganisation = graphql(`
  mutation ConsoleRenameOrganisation($input: RenameOrganisationInput!) {
    renameOrganisation(input: $input) {
      ... on MutationRenameOrganisationSuccess { data { id name } }
      ...ConsoleFailure
    }
  }
`);

const CreateChannel = graphql(`
  mutation ConsoleCreateChannel($input: CreateChannelInput!) {
    createChannel(input: $input) {
      ... on MutationCreateChannelSuccess { data { id name } }
      ...ConsoleFailure
    }
  }
`);

const AddIntegration = graphql(`
  mutation ConsoleAddIntegration($input: AddIntegrationInput!) {
    addIntegration(input: $input) {
      ...ConsoleFailure
      ... on MutationAddIntegrationSuccess {
        data {
          id
          name
          appName
          appLogo
          appDescription
          appUrl
          keyFeatures
          integrationCategory
          integrationType
          warnings
          signingSecret
          targetUrl
          tickUrl
          allChannels
          channels {
            channel {
              id
              name
            }
          }
        }
      }
    }
  }
`);

const RemoveIntegration = graphql(`
  mutation ConsoleRemoveIntegration($input: RemoveIntegrationInput!) {
    removeIntegration(input: $input) {
      ... on MutationRemoveIntegrationSuccess { data { id } }
      ...ConsoleFailure
    }
  }
`);

type Added = Awaited<ReturnType<typeof addIntegration>>;
function addIntegration(organisationId: string, jsonUrl: string) {
  return mutate(AddIntegration, { input: { organisationId, jsonUrl } });
}

/** What the spec says about itself, shown before the admin keeps the integration. */
function Review({ added, action, onKeep, onDiscard }: { added: Added; action: Action; onKeep(): void; onDiscard(): Promise<string> }) {
  return (
    <section class="card review" aria-labelledby="review-title">
      <SpecHead logo={added.appLogo} size={48} heading={<h3 id="review-title">{added.appName}</h3>}>
        <p>
          <TypeBadge type={added.integrationType} /> {added.integrationCategory && <span class="muted">{added.integrationCategory}</span>}
        </p>
      </SpecHead>
      {added.appDescription && <p>{added.appDescription}</p>}
      {added.keyFeatures.length > 0 && (
        <>
          <h4>Key features</h4>
          <ul>
            {added.keyFeatures.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ul>
        </>
      )}
      <IntegrationFacts
        integration={added}
        more={[['Switched on for', added.allChannels ? 'all channels (the spec asks for it)' : added.channels.length ? added.channels.map((c) => c.channel.name).join(', ') : 'no channel yet']]}
      />
      <SpecWarnings warnings={added.warnings} heading="h4" />
      {added.signingSecret && (
        <div class="secret">
          <p>
            Signing secret (shown once; the integration verifies calls with it): <code>{added.signingSecret}</code>
          </p>
          <CopyButton text={added.signingSecret} label="Copy the signing secret" />
        </div>
      )}
      <div class="row">
        <button type="button" onClick={onKeep} disabled={action.busy}>
          Keep {added.appName}
        </button>
        <ActionButton action={action} class="secondary danger" work={onDiscard}>
          Cancel and remove it
        </ActionButton>
      </div>
    </section>
  );
}

/** An organisation's views: its channels and integrations, and its Rocket.Chat integrations. */
export function OrganisationTabs({ organisationId, current }: { organisationId: string; current: 'overview' | 'rc' }) {
  const tabs: [typeof current, string, string][] = [
    ['overview', 'Channels and integrations', link('o', organisationId)],
    ['rc', 'Rocket.Chat integrations', link('o', organisationId, 'rc')],
  ];
  return (
    <nav class="tabs" aria-label="Organisation views">
      {tabs.map(([id, label, href]) => (
        <a key={id} href={href} aria-current={current === id ? 'page' : undefined}>
          {label}
        </a>
      ))}
    </nav>
  );
}

export function OrganisationPage({ organisationId }: { organisationId: string }) {
  const org = useQuery(Organisation, { id: organisationId }, organisationId);
  const channel = useFields({ name: '', description: '' });
  const createChannel = useAction();
  const [jsonUrl, setJsonUrl] = useState('');
  const install = useAction();
  const [added, setAdded] = useState<Added | null>(null);

  if (!org.data) return <Loading what={org} />;
  const o = org.data.organisation;
  if (!o) return <Notice kind="error">This organisation does not exist, or you are not a member of it.</Notice>;
  const isOwner = o.viewerRole === 'OWNER';
  const canManage = o.viewerRole !== 'MEMBER';
  const channels = o.channels.edges.map((e) => e.node);

  return (
    <>
      <Crumbs />
      <h1 tabIndex={-1}>{o.name}</h1>
      <p class="muted">Your role: {o.viewerRole.toLowerCase()}</p>
      <OrganisationTabs organisationId={o.id} current="overview" />
      {isOwner && (
        <details class="card">
          <summary>Rename organisation</summary>
          <RenameForm
            id="org-rename"
            current={o.name}
            save={async (name) => {
              await mutate(RenameOrganisation, { input: { id: o.id, name } });
              await org.reload();
            }}
          />
        </details>
      )}

      <section aria-labelledby="channels-title">
        <h2 id="channels-title">Channels</h2>
        <List label="Channels" empty="No channel yet.">
          {channels.map((c) => (
            <li key={c.id}>
              <a href={link('c', c.id)}>#{c.name}</a> {c.description && <span class="muted">{c.description}</span>}
            </li>
          ))}
        </List>
        {canManage && (
          <ActionForm
            action={createChannel}
            label="New channel"
            submit="Create channel"
            onSubmit={async () => {
              const { name, description } = channel.values;
              const c = await mutate(CreateChannel, { input: { organisationId: o.id, name, description: description || undefined } });
              channel.reset();
              await org.reload();
              return `Channel #${c.name} created.`;
            }}
          >
            <h3>New channel</h3>
            <TextField id="channel-name" name="name" label="Channel name" required maxLength={200} value={channel.values.name} onValue={channel.set('name')} />
            <TextField id="channel-description" name="description" label="Description (optional)" maxLength={2000} value={channel.values.description} onValue={channel.set('description')} />
          </ActionForm>
        )}
      </section>

      <section aria-labelledby="integrations-title">
        <h2 id="integrations-title">Integrations</h2>
        <List label="Integrations" empty="No integration yet.">
          {o.integrations.map((i) => (
            <li key={i.id} class="integration-row">
              {i.appLogo && <img src={i.appLogo} alt="" width={24} height={24} class="logo" referrerpolicy="no-referrer" />}
              <a href={link('o', o.id, 'i', i.id)}>{i.name}</a> <TypeBadge type={i.integrationType} />
              {!i.isActive && <Badge tone="warn">inactive</Badge>}
              <span class="muted">
                {i.integrationCategory ? `${i.integrationCategory} · ` : ''}
                {i.allChannels ? 'all channels' : count(i.channels.length, 'channel')}
              </span>
            </li>
          ))}
        </List>
        {canManage &&
          (added ? (
            <>
              <Review
                added={added}
                action={install}
                onKeep={() => {
                  setAdded(null);
                  location.hash = link('o', o.id, 'i', added.id);
                }}
                onDiscard={async () => {
                  await mutate(RemoveIntegration, { input: { id: added.id } });
                  setAdded(null);
                  await org.reload();
                  return `${added.appName} was removed.`;
                }}
              />
              <ActionNotes action={install} />
            </>
          ) : (
            <ActionForm
              action={install}
              label="Install an integration"
              submit="Fetch and review"
              busy="Fetching the spec…"
              onSubmit={async () => {
                setAdded(await addIntegration(o.id, jsonUrl.trim()));
                setJsonUrl('');
                await org.reload();
              }}
            >
              <h3>Install an integration</h3>
              <TextField
                id="json-url"
                name="jsonUrl"
                label="Spec URL (json_url)"
                type="url"
                required
                placeholder="https://example.com/integration.json"
                value={jsonUrl}
                onValue={setJsonUrl}
                help="The gateway fetches and checks the spec; you then see what it declares and keep it or remove it."
              />
            </ActionForm>
          ))}
      </section>
    </>
  );
}
