import { useState } from 'preact/hooks';
import { ok, request } from '../client';
import { graphql } from '../graphql';
import { ActionNotes, CopyButton, Loading, Notice, TypeBadge, Badge, RenameForm, link, useAction, useQuery } from '../ui';

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
      __typename
      ... on MutationRenameOrganisationSuccess {
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

const CreateChannel = graphql(`
  mutation ConsoleCreateChannel($input: CreateChannelInput!) {
    createChannel(input: $input) {
      __typename
      ... on MutationCreateChannelSuccess {
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

const AddIntegration = graphql(`
  mutation ConsoleAddIntegration($input: AddIntegrationInput!) {
    addIntegration(input: $input) {
      __typename
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
      ... on Error {
        message
      }
      ... on ValidationError {
        field
      }
    }
  }
`);

const RemoveIntegration = graphql(`
  mutation ConsoleRemoveIntegration($input: RemoveIntegrationInput!) {
    removeIntegration(input: $input) {
      __typename
      ... on MutationRemoveIntegrationSuccess {
        data {
          id
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

type Added = Extract<Awaited<ReturnType<typeof addIntegration>>, object>;
async function addIntegration(organisationId: string, jsonUrl: string) {
  return ok((await request(AddIntegration, { input: { organisationId, jsonUrl } })).addIntegration);
}

/** What the spec says about itself, shown before the admin keeps the integration. */
function Review({ added, onKeep, onDiscard, busy }: { added: Added; onKeep(): void; onDiscard(): void; busy: boolean }) {
  return (
    <section class="card review" aria-labelledby="review-title">
      <div class="spec-head">
        {added.appLogo && <img src={added.appLogo} alt="" width={48} height={48} class="logo" referrerpolicy="no-referrer" />}
        <div>
          <h3 id="review-title">{added.appName}</h3>
          <p>
            <TypeBadge type={added.integrationType} /> {added.integrationCategory && <span class="muted">{added.integrationCategory}</span>}
          </p>
        </div>
      </div>
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
      <dl class="facts">
        {added.targetUrl && (
          <>
            <dt>Target URL</dt>
            <dd>
              <code>{added.targetUrl}</code>
            </dd>
          </>
        )}
        {added.tickUrl && (
          <>
            <dt>Tick URL</dt>
            <dd>
              <code>{added.tickUrl}</code>
            </dd>
          </>
        )}
        <dt>Switched on for</dt>
        <dd>{added.allChannels ? 'all channels (the spec asks for it)' : added.channels.length ? added.channels.map((c) => c.channel.name).join(', ') : 'no channel yet'}</dd>
      </dl>
      {added.warnings.length > 0 && (
        <div class="notice notice-warn" role="status">
          <h4>Warnings from the spec</h4>
          <ul>
            {added.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </div>
      )}
      {added.signingSecret && (
        <div class="secret">
          <p>
            Signing secret (shown once; the integration verifies calls with it): <code>{added.signingSecret}</code>
          </p>
          <CopyButton text={added.signingSecret} label="Copy the signing secret" />
        </div>
      )}
      <div class="row">
        <button type="button" onClick={onKeep} disabled={busy}>
          Keep {added.appName}
        </button>
        <button type="button" class="secondary danger" onClick={onDiscard} disabled={busy}>
          Cancel and remove it
        </button>
      </div>
    </section>
  );
}

export function OrganisationPage({ organisationId }: { organisationId: string }) {
  const org = useQuery(Organisation, { id: organisationId }, organisationId);
  const [channelName, setChannelName] = useState('');
  const [channelDescription, setChannelDescription] = useState('');
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
      <p class="crumbs">
        <a href={link()}>Organisations</a> /
      </p>
      <h1 tabIndex={-1}>{o.name}</h1>
      <p class="muted">Your role: {o.viewerRole.toLowerCase()}</p>
      {isOwner && (
        <details class="card">
          <summary>Rename organisation</summary>
          <RenameForm
            id="org-rename"
            current={o.name}
            save={async (name) => {
              ok((await request(RenameOrganisation, { input: { id: o.id, name } })).renameOrganisation);
              await org.reload();
            }}
          />
        </details>
      )}

      <section aria-labelledby="channels-title">
        <h2 id="channels-title">Channels</h2>
        <ul class="list" aria-label="Channels">
          {channels.length === 0 && <li class="muted">No channel yet.</li>}
          {channels.map((c) => (
            <li key={c.id}>
              <a href={link('c', c.id)}>#{c.name}</a> {c.description && <span class="muted">{c.description}</span>}
            </li>
          ))}
        </ul>
        {canManage && (
          <form
            class="card stack"
            aria-label="New channel"
            onSubmit={(e) => {
              e.preventDefault();
              void createChannel.run(async () => {
                const c = ok((await request(CreateChannel, { input: { organisationId: o.id, name: channelName, description: channelDescription || undefined } })).createChannel);
                setChannelName('');
                setChannelDescription('');
                await org.reload();
                return `Channel #${c.name} created.`;
              });
            }}
          >
            <h3>New channel</h3>
            <label for="channel-name">Channel name</label>
            <input id="channel-name" required maxLength={200} value={channelName} onInput={(e) => setChannelName(e.currentTarget.value)} />
            <label for="channel-description">Description (optional)</label>
            <input id="channel-description" maxLength={2000} value={channelDescription} onInput={(e) => setChannelDescription(e.currentTarget.value)} />
            <button type="submit" disabled={createChannel.busy}>
              Create channel
            </button>
            <ActionNotes action={createChannel} />
          </form>
        )}
      </section>

      <section aria-labelledby="integrations-title">
        <h2 id="integrations-title">Integrations</h2>
        <ul class="list" aria-label="Integrations">
          {o.integrations.length === 0 && <li class="muted">No integration yet.</li>}
          {o.integrations.map((i) => (
            <li key={i.id} class="integration-row">
              {i.appLogo && <img src={i.appLogo} alt="" width={24} height={24} class="logo" referrerpolicy="no-referrer" />}
              <a href={link('o', o.id, 'i', i.id)}>{i.name}</a> <TypeBadge type={i.integrationType} />
              {!i.isActive && <Badge tone="warn">inactive</Badge>}
              <span class="muted">
                {i.integrationCategory ? `${i.integrationCategory} · ` : ''}
                {i.allChannels ? 'all channels' : `${i.channels.length} channel${i.channels.length === 1 ? '' : 's'}`}
              </span>
            </li>
          ))}
        </ul>
        {canManage &&
          (added ? (
            <Review
              added={added}
              busy={install.busy}
              onKeep={() => {
                const id = added.id;
                setAdded(null);
                location.hash = link('o', o.id, 'i', id);
              }}
              onDiscard={() =>
                void install.run(async () => {
                  ok((await request(RemoveIntegration, { input: { id: added.id } })).removeIntegration);
                  setAdded(null);
                  await org.reload();
                  return `${added.appName} was removed.`;
                })
              }
            />
          ) : (
            <form
              class="card stack"
              aria-label="Install an integration"
              onSubmit={(e) => {
                e.preventDefault();
                void install.run(async () => {
                  setAdded(await addIntegration(o.id, jsonUrl.trim()));
                  setJsonUrl('');
                  await org.reload();
                });
              }}
            >
              <h3>Install an integration</h3>
              <label for="json-url">Spec URL (json_url)</label>
              <input
                id="json-url"
                type="url"
                required
                placeholder="https://example.com/integration.json"
                value={jsonUrl}
                onInput={(e) => setJsonUrl(e.currentTarget.value)}
                aria-invalid={install.field === 'jsonUrl'}
                aria-describedby="json-url-help"
              />
              <p id="json-url-help" class="muted">
                The gateway fetches and checks the spec; you then see what it declares and keep it or remove it.
              </p>
              <button type="submit" disabled={install.busy}>
                {install.busy ? 'Fetching the spec…' : 'Fetch and review'}
              </button>
            </form>
          ))}
        <ActionNotes action={install} />
      </section>
    </>
  );
}
