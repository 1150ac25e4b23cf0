import { useState } from 'preact/hooks';
import { mutate } from '../client';
import { graphql } from '../graphql';
import { SettingsForm } from '../settings-form';
import { ActionButton, ActionNotes, Badge, Crumbs, IntegrationFacts, List, Loading, Notice, SpecHead, SpecWarnings, TickTimes, TypeBadge, link, useAction, useQuery } from '../ui';

const Integration = graphql(`
  query ConsoleIntegration($id: ID!) {
    integration(id: $id) {
      id
      name
      appName
      appLogo
      appDescription
      appUrl
      integrationType
      integrationCategory
      keyFeatures
      warnings
      isActive
      allChannels
      targetUrl
      tickUrl
      jsonUrl
      signingSecretHint
      settingsSchema {
        label
        type
        options
        required
        description
      }
      effectiveSettings {
        label
        value
        source
      }
      channels {
        id
        position
        lastTickAt
        nextTickAt
        missedSlots
        channel {
          id
          name
        }
      }
      organisation {
        id
        name
        viewerRole
        channels(first: 100) {
          edges {
            node {
              id
              name
            }
          }
        }
      }
    }
  }
`);

const SetIntegrationSetting = graphql(`
  mutation ConsoleSetIntegrationSetting($input: SetIntegrationSettingInput!) {
    setIntegrationSetting(input: $input) {
      ... on MutationSetIntegrationSettingSuccess { data { id } }
      ...ConsoleFailure
    }
  }
`);

export const EnableIntegration = graphql(`
  mutation ConsoleEnableIntegration($input: EnableIntegrationInput!) {
    enableIntegration(input: $input) {
      ... on MutationEnableIntegrationSuccess { data { id position warnings } }
      ...ConsoleFailure
    }
  }
`);

export const DisableIntegration = graphql(`
  mutation ConsoleDisableIntegration($input: DisableIntegrationInput!) {
    disableIntegration(input: $input) {
      ... on MutationDisableIntegrationSuccess { data { id } }
      ...ConsoleFailure
    }
  }
`);

const UpdateIntegration = graphql(`
  mutation ConsoleUpdateIntegration($input: UpdateIntegrationInput!) {
    updateIntegration(input: $input) {
      ... on MutationUpdateIntegrationSuccess { data { id isActive } }
      ...ConsoleFailure
    }
  }
`);

/** Switch an integration on or off for one channel; the warnings of switching on (a slash command already taken) are returned. */
export async function switchIntegration(integrationId: string, channelId: string, on: boolean): Promise<string> {
  if (on) {
    const link = await mutate(EnableIntegration, { input: { integrationId, channelId } });
    return link.warnings.length ? `Switched on. ${link.warnings.join(' ')}` : 'Switched on.';
  }
  await mutate(DisableIntegration, { input: { integrationId, channelId } });
  return 'Switched off.';
}

export function IntegrationPage({ organisationId, integrationId }: { organisationId: string; integrationId: string }) {
  const q = useQuery(Integration, { id: integrationId }, integrationId);
  const toggle = useAction();
  const active = useAction();
  // A switch shows its new position at once, while the change is sent and the page read again.
  const [flipped, setFlipped] = useState<Record<string, boolean>>({});
  if (!q.data) return <Loading what={q} />;
  const i = q.data.integration;
  if (!i || i.organisation.id !== organisationId) return <Notice kind="error">This integration does not exist, or you are not a member of its organisation.</Notice>;
  const canManage = i.organisation.viewerRole !== 'MEMBER';
  const links = new Map(i.channels.map((c) => [c.channel.id, c]));
  const channels = i.organisation.channels.edges.map((e) => e.node);

  return (
    <>
      <Crumbs trail={[[link('o', i.organisation.id), i.organisation.name]]} />
      <SpecHead logo={i.appLogo} size={56} heading={<h1 tabIndex={-1}>{i.name}</h1>}>
        <p>
          <TypeBadge type={i.integrationType} /> {i.isActive ? <Badge tone="ok">active</Badge> : <Badge tone="warn">inactive</Badge>}{' '}
          {i.integrationCategory && <span class="muted">{i.integrationCategory}</span>}
        </p>
      </SpecHead>
      {i.appDescription && <p>{i.appDescription}</p>}
      {i.keyFeatures.length > 0 && (
        <ul aria-label="Key features">
          {i.keyFeatures.map((f) => (
            <li key={f}>{f}</li>
          ))}
        </ul>
      )}
      <SpecWarnings warnings={i.warnings} />
      <IntegrationFacts integration={i} more={[['Signing secret', i.signingSecretHint ? `…${i.signingSecretHint}` : 'none (calls are unsigned)']]} />
      {canManage && (
        <div class="row">
          <ActionButton
            action={active}
            class="secondary"
            work={async () => {
              await mutate(UpdateIntegration, { input: { id: i.id, isActive: !i.isActive } });
              await q.reload();
              return i.isActive ? 'Deactivated: it is no longer called anywhere.' : 'Activated.';
            }}
          >
            {i.isActive ? 'Deactivate everywhere' : 'Activate'}
          </ActionButton>
          <ActionNotes action={active} />
        </div>
      )}

      <section aria-labelledby="channels-title">
        <h2 id="channels-title">Channels</h2>
        <List class="switches" empty="The organisation has no channel yet.">
          {channels.map((c) => {
            const on = links.get(c.id);
            const checked = flipped[c.id] ?? !!on;
            return (
              <li key={c.id}>
                <div class="check">
                  <input
                    id={`switch-${c.id}`}
                    type="checkbox"
                    role="switch"
                    checked={checked}
                    disabled={!canManage || toggle.busy}
                    onChange={(e) => {
                      const want = e.currentTarget.checked;
                      setFlipped((f) => ({ ...f, [c.id]: want }));
                      void toggle
                        .run(async () => {
                          const note = await switchIntegration(i.id, c.id, want);
                          await q.reload();
                          return `#${c.name}: ${note}`;
                        })
                        .finally(() => setFlipped(({ [c.id]: _done, ...rest }) => rest));
                    }}
                  />
                  <label for={`switch-${c.id}`}>On in #{c.name}</label>
                </div>
                <a href={link('c', c.id, 'integrations')}>channel settings</a>
                {on && i.integrationType === 'INTERVAL' && <TickTimes {...on} />}
              </li>
            );
          })}
        </List>
        <ActionNotes action={toggle} />
      </section>

      <section aria-labelledby="settings-title">
        <h2 id="settings-title">Organisation settings</h2>
        <p class="muted">These apply in every channel that has no value of its own.</p>
        <SettingsForm
          idPrefix="org"
          schema={i.settingsSchema}
          effective={i.effectiveSettings}
          disabled={!canManage}
          save={async (label, value) => void (await mutate(SetIntegrationSetting, { input: { integrationId: i.id, label, value } }))}
          saved={q.reload}
        />
      </section>
    </>
  );
}
