/**
 * An organisation's Rocket.Chat-compatible webhook integrations: the list, creating an incoming one (its hook URL
 * shown once, with a curl) or an outgoing one, and one integration's page: its settings and script (a script that
 * does not compile is refused at the field), the health of each URL it calls, and its history with replay.
 */
import { useState } from 'preact/hooks';
import { mutate } from '../client';
import type { ConsoleWebhookIntegrationQuery, WebhookOutgoingEvent } from '../gql/graphql';
import { graphql } from '../graphql';
import {
  ActionButton,
  ActionForm,
  ActionNotes,
  Badge,
  CopyButton,
  Crumbs,
  Facts,
  Field,
  HealthBadge,
  HealthDetails,
  HealthRate,
  List,
  LiveState,
  Loading,
  Notice,
  SelectField,
  TextField,
  count,
  link,
  useAction,
  useFields,
  useQuery,
  useSoon,
  when,
} from '../ui';
import { ReplayDelivery, useDeliveryEvents } from './deliveries';
import { OrganisationTabs } from './organisation';

const WebhookIntegrations = graphql(`
  query ConsoleWebhookIntegrations($organisationId: ID!) {
    organisation(id: $organisationId) {
      id
      name
      channels(first: 100) {
        edges {
          node {
            id
            name
          }
        }
      }
      webhookIntegrations(first: 100) {
        totalCount
        edges {
          node {
            id
            name
            type
            enabled
            channels
            username
            event
            urls
            scriptEnabled
          }
        }
      }
    }
  }
`);

const CreateWebhookIntegration = graphql(`
  mutation ConsoleCreateWebhookIntegration($input: CreateWebhookIntegrationInput!) {
    createWebhookIntegration(input: $input) {
      ... on MutationCreateWebhookIntegrationSuccess { data { id name type hookUrl } }
      ...ConsoleFailure
    }
  }
`);

const WebhookIntegration = graphql(`
  query ConsoleWebhookIntegration($id: ID!, $organisationId: ID!) {
    organisation(id: $organisationId) {
      id
      name
      viewerRole
    }
    webhookIntegration(id: $id) {
      id
      organisationId
      name
      type
      enabled
      channels
      username
      alias
      emoji
      event
      urls
      triggerWords
      token
      retryFailedCalls
      retryCount
      retryDelay
      scriptEnabled
      script
      createdAt
      updatedAt
      createdBy {
        id
        name
      }
      health {
        url
        health {
          ...ConsoleHealth
        }
      }
      history(first: 50) {
        edges {
          node {
            id
            createdAt
            type
            event
            step
            error
            errorMessage
            httpStatus
            httpError
            finished
            deliveryId
            replayOf
            url
            triggerWord
            scriptLogs
          }
        }
      }
    }
  }
`);

const UpdateWebhookIntegration = graphql(`
  mutation ConsoleUpdateWebhookIntegration($input: UpdateWebhookIntegrationInput!) {
    updateWebhookIntegration(input: $input) {
      ... on MutationUpdateWebhookIntegrationSuccess { data { id } }
      ...ConsoleFailure
    }
  }
`);

const RemoveWebhookIntegration = graphql(`
  mutation ConsoleRemoveWebhookIntegration($input: RemoveWebhookIntegrationInput!) {
    removeWebhookIntegration(input: $input) {
      ... on MutationRemoveWebhookIntegrationSuccess { data { id } }
      ...ConsoleFailure
    }
  }
`);

const ReenableUrl = graphql(`
  mutation ConsoleReenableWebhookIntegrationUrl($input: ReenableWebhookIntegrationUrlInput!) {
    reenableWebhookIntegrationUrl(input: $input) {
      ... on MutationReenableWebhookIntegrationUrlSuccess { data { url } }
      ...ConsoleFailure
    }
  }
`);

const EVENTS: [WebhookOutgoingEvent, string][] = [
  ['SEND_MESSAGE', 'Message sent (sendMessage)'],
  ['ROOM_CREATED', 'Channel created (roomCreated)'],
];

/** Words or lines typed in a text field, as a list (empty entries dropped). */
function entries(text: string, separator: RegExp): string[] {
  return text
    .split(separator)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The documented body of a Rocket.Chat incoming hook, as a curl. */
function hookCurl(hookUrl: string): string {
  const body = { text: 'Deployed v1.2.3 to production', attachments: [{ title: 'Release notes', title_link: 'https://example.com/releases/1.2.3', color: '#2eb886' }] };
  return `curl -X POST '${hookUrl}' \\\n  -H 'Content-Type: application/json' \\\n  -d '${JSON.stringify(body)}'`;
}

function TypeOf({ type }: { type: string }) {
  return <Badge tone="plain">{type === 'INCOMING' ? 'incoming' : 'outgoing'}</Badge>;
}

function Enabled({ enabled }: { enabled: boolean }) {
  return enabled ? <Badge tone="ok">enabled</Badge> : <Badge tone="warn">disabled</Badge>;
}

/** The hook URL of an incoming integration just created: its only showing. */
function HookUrl({ name, hookUrl, id, organisationId }: { name: string; hookUrl: string; id: string; organisationId: string }) {
  const curl = hookCurl(hookUrl);
  return (
    <section class="card secret" aria-labelledby="hook-title">
      <h3 id="hook-title">{name}: its hook URL</h3>
      <Notice kind="warn">Shown this once: only a hash of its token is kept. Copy it now; if it is lost, create a new integration.</Notice>
      <div class="row">
        <code id="hook-url" class="wrap">
          {hookUrl}
        </code>
        <CopyButton text={hookUrl} label="Copy the hook URL" />
      </div>
      <p>Post a message to it:</p>
      <pre id="hook-curl" class="wrap">
        {curl}
      </pre>
      <CopyButton text={curl} label="Copy the curl example" />
      <p>
        <a href={link('o', organisationId, 'rc', id)}>Open {name}</a>
      </p>
    </section>
  );
}

export function WebhookIntegrationsPage({ organisationId }: { organisationId: string }) {
  const q = useQuery(WebhookIntegrations, { organisationId }, organisationId);
  const incoming = useFields({ name: '', username: '', channel: '' });
  const outgoing = useFields({ name: '', username: '', channel: '', urls: '', triggerWords: '', token: '' });
  const [event, setEvent] = useState<WebhookOutgoingEvent>('SEND_MESSAGE');
  const [retry, setRetry] = useState(true);
  const createIncoming = useAction();
  const createOutgoing = useAction();
  const [created, setCreated] = useState<{ id: string; name: string; hookUrl: string } | null>(null);

  if (!q.data) return <Loading what={q} />;
  const o = q.data.organisation;
  if (!o) return <Notice kind="error">This organisation does not exist, or you are not a member of it.</Notice>;
  const channels: [string, string][] = o.channels.edges.map(({ node: c }) => [`#${c.name}`, `#${c.name}`]);
  const integrations = o.webhookIntegrations.edges.map((e) => e.node);

  return (
    <>
      <Crumbs trail={[[link('o', o.id), o.name]]} />
      <h1 tabIndex={-1}>Rocket.Chat integrations</h1>
      <OrganisationTabs organisationId={o.id} current="rc" />
      <p class="muted">
        Webhooks in Rocket.Chat's shape: an incoming one posts what it receives at its secret URL into a channel; an outgoing one POSTs each event of its channels to
        its URLs. Both may run a script (<code>class Script</code>).
      </p>
      <List label="Rocket.Chat integrations" empty="No Rocket.Chat integration yet: create one below.">
        {integrations.map((i) => (
          <li key={i.id} data-webhook-integration={i.name}>
            <a href={link('o', o.id, 'rc', i.id)}>{i.name}</a> <TypeOf type={i.type} /> <Enabled enabled={i.enabled} />
            <span class="muted">
              {i.channels.join(', ')} · as {i.username}
              {i.type === 'OUTGOING' && ` · ${count(i.urls.length, 'URL')}`}
              {i.scriptEnabled && ' · script'}
            </span>
          </li>
        ))}
      </List>

      {created && <HookUrl {...created} organisationId={o.id} />}

      <ActionForm
        action={createIncoming}
        labelledBy="new-incoming"
        submit="Create incoming integration"
        onSubmit={async () => {
          const { name, username, channel } = incoming.values;
          const made = await mutate(CreateWebhookIntegration, { input: { organisationId: o.id, type: 'INCOMING', name, username, channels: [channel] } });
          setCreated({ id: made.id, name: made.name, hookUrl: made.hookUrl ?? '' });
          incoming.reset();
          await q.reload();
          return `${made.name} created: copy its hook URL above.`;
        }}
      >
        <h2 id="new-incoming" class="small">
          New incoming integration
        </h2>
        <TextField id="in-name" name="name" label="Name" required maxLength={255} value={incoming.values.name} onValue={incoming.set('name')} />
        <TextField id="in-username" name="username" label="Post as" required maxLength={255} value={incoming.values.username} onValue={incoming.set('username')} help="The user name its messages show." />
        <SelectField id="in-channel" name="channels" label="Channel" required value={incoming.values.channel} onValue={incoming.set('channel')} none="Choose…" choices={channels} />
      </ActionForm>

      <ActionForm
        action={createOutgoing}
        labelledBy="new-outgoing"
        submit="Create outgoing integration"
        onSubmit={async () => {
          const { name, username, channel, urls, triggerWords, token } = outgoing.values;
          const made = await mutate(CreateWebhookIntegration, {
            input: {
              organisationId: o.id,
              type: 'OUTGOING',
              name,
              username,
              channels: [channel],
              event,
              urls: entries(urls, /\n/),
              triggerWords: entries(triggerWords, /[,\s]+/),
              token: token || undefined,
              retryFailedCalls: retry,
            },
          });
          outgoing.reset();
          setRetry(true);
          await q.reload();
          return `${made.name} created.`;
        }}
      >
        <h2 id="new-outgoing" class="small">
          New outgoing integration
        </h2>
        <TextField id="out-name" name="name" label="Name" required maxLength={255} value={outgoing.values.name} onValue={outgoing.set('name')} />
        <SelectField id="out-event" name="event" label="Event" value={event} onValue={(v) => setEvent(v as WebhookOutgoingEvent)} choices={EVENTS} />
        <SelectField id="out-channel" name="channels" label="Channel to watch" required value={outgoing.values.channel} onValue={outgoing.set('channel')} none="Choose…" choices={channels} />
        <Field id="out-urls" name="urls" label="URLs" help="One per line; each event is POSTed to every one.">
          {(props) => <textarea {...props} required rows={2} value={outgoing.values.urls} onInput={(e) => outgoing.set('urls')(e.currentTarget.value)} />}
        </Field>
        <TextField id="out-words" name="triggerWords" label="Trigger words (optional)" value={outgoing.values.triggerWords} onValue={outgoing.set('triggerWords')} help="Only messages starting with one of these words, separated by commas; none: every message." />
        <TextField id="out-username" name="username" label="Post replies as" required maxLength={255} value={outgoing.values.username} onValue={outgoing.set('username')} />
        <TextField id="out-token" name="token" label="Token (optional)" autoComplete="off" value={outgoing.values.token} onValue={outgoing.set('token')} help="Sent in each payload for the receiver to check; stored encrypted, shown masked." />
        <div class="check">
          <input id="out-retry" type="checkbox" checked={retry} onChange={(e) => setRetry(e.currentTarget.checked)} />
          <label for="out-retry">Try failed calls again</label>
        </div>
      </ActionForm>
    </>
  );
}

type Detail = NonNullable<ConsoleWebhookIntegrationQuery['webhookIntegration']>;
type Run = Detail['history']['edges'][number]['node'];

/** The settings and script of one integration: absent fields keep their value, so only what the form holds is sent. */
function EditForm({ i, saved }: { i: Detail; saved(): Promise<void> }) {
  const save = useAction();
  const fields = useFields({ name: i.name, username: i.username, channels: i.channels.join(', '), urls: i.urls.join('\n'), script: i.script ?? '' });
  const [enabled, setEnabled] = useState(i.enabled);
  const [scriptEnabled, setScriptEnabled] = useState(i.scriptEnabled);
  const v = fields.values;
  return (
    <ActionForm
      action={save}
      labelledBy="edit-title"
      submit="Save changes"
      busy="Saving…"
      onSubmit={async () => {
        await mutate(UpdateWebhookIntegration, {
          input: {
            id: i.id,
            name: v.name,
            username: v.username,
            channels: entries(v.channels, /[,\s]+/),
            ...(i.type === 'OUTGOING' ? { urls: entries(v.urls, /\n/) } : {}),
            enabled,
            scriptEnabled,
            script: v.script.trim() ? v.script : null,
          },
        });
        await saved();
        return 'Saved.';
      }}
    >
      <h2 id="edit-title">Settings and script</h2>
      <TextField id="rc-name" name="name" label="Name" required maxLength={255} value={v.name} onValue={fields.set('name')} />
      <TextField id="rc-username" name="username" label="Post as" required maxLength={255} value={v.username} onValue={fields.set('username')} />
      <TextField id="rc-channels" name="channels" label="Channels" required value={v.channels} onValue={fields.set('channels')} help="#names, separated by commas." />
      {i.type === 'OUTGOING' && (
        <Field id="rc-urls" name="urls" label="URLs" help="One per line.">
          {(props) => <textarea {...props} required rows={2} value={v.urls} onInput={(e) => fields.set('urls')(e.currentTarget.value)} />}
        </Field>
      )}
      <div class="check">
        <input id="rc-enabled" type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />
        <label for="rc-enabled">Enabled</label>
      </div>
      <div class="check">
        <input id="rc-script-enabled" type="checkbox" checked={scriptEnabled} onChange={(e) => setScriptEnabled(e.currentTarget.checked)} />
        <label for="rc-script-enabled">Run the script</label>
      </div>
      <Field
        id="rc-script"
        name="script"
        label="Script"
        help={
          i.type === 'INCOMING' ? (
            <>
              A <code>class Script</code> with <code>process_incoming_request({'{ request }'})</code> returning <code>{'{ content }'}</code> or <code>{'{ error }'}</code>. It is compiled when
              saved.
            </>
          ) : (
            <>
              A <code>class Script</code> with <code>prepare_outgoing_request</code> and <code>process_outgoing_response</code>. It is compiled when saved.
            </>
          )
        }
      >
        {(props) => <textarea {...props} class="code" rows={12} spellcheck={false} value={v.script} onInput={(e) => fields.set('script')(e.currentTarget.value)} />}
      </Field>
    </ActionForm>
  );
}

function RunRow({ run, replay, canReplay, onReplay }: { run: Run; replay: ReturnType<typeof useAction>; canReplay: boolean; onReplay(): Promise<string> }) {
  return (
    <tr data-run-id={run.id} data-replay-of={run.replayOf ?? undefined} data-outcome={!run.finished ? 'waiting' : run.error ? 'failed' : 'ok'}>
      <td>
        <time dateTime={run.createdAt}>{when(run.createdAt)}</time>
        <div class="muted small">
          {run.event ?? run.type}
          {run.triggerWord && ` · “${run.triggerWord}”`}
          {run.replayOf && ' · replay'}
        </div>
      </td>
      <td>
        {!run.finished ? <Badge tone="plain">waiting</Badge> : run.error ? <Badge tone="bad">failed</Badge> : <Badge tone="ok">ok</Badge>}
        <div class="muted small">{run.step}</div>
      </td>
      <td>{run.httpStatus ?? '—'}</td>
      <td class="wrap">
        {run.errorMessage ?? run.httpError ?? ''}
        {run.scriptLogs.length > 0 && (
          <details>
            <summary>Script log ({run.scriptLogs.length})</summary>
            <pre class="wrap">{run.scriptLogs.join('\n')}</pre>
          </details>
        )}
      </td>
      {canReplay && (
        <td>
          {run.deliveryId && run.finished && (
            <ActionButton action={replay} class="secondary" aria-label={`Replay the call of ${when(run.createdAt)}`} work={onReplay}>
              Replay
            </ActionButton>
          )}
        </td>
      )}
    </tr>
  );
}

export function WebhookIntegrationPage({ organisationId, integrationId }: { organisationId: string; integrationId: string }) {
  const q = useQuery(WebhookIntegration, { id: integrationId, organisationId }, integrationId);
  const replay = useAction();
  const reenable = useAction();
  const remove = useAction();
  // Its calls and its urls' circuits change as delivery events come: the page is read again once they pause.
  const readSoon = useSoon(300, q.reload);
  const live = useDeliveryEvents(organisationId, null, {
    event(event) {
      if (event.delivery?.targetId === integrationId || event.target?.integrationId === integrationId) readSoon();
    },
    readAgain: readSoon,
  });
  const [confirming, setConfirming] = useState(false);
  if (!q.data) return <Loading what={q} />;
  const { organisation: o, webhookIntegration: i } = q.data;
  if (!o || !i || i.organisationId !== o.id) return <Notice kind="error">This integration does not exist, or you may not manage it.</Notice>;
  const isAdmin = o.viewerRole !== 'MEMBER';
  const runs = i.history.edges.map((e) => e.node);

  return (
    <>
      <Crumbs
        trail={[
          [link('o', o.id), o.name],
          [link('o', o.id, 'rc'), 'Rocket.Chat integrations'],
        ]}
      />
      <h1 tabIndex={-1}>{i.name}</h1>
      <p>
        <TypeOf type={i.type} /> <Enabled enabled={i.enabled} />
      </p>
      <Facts
        items={[
          ['Channels', i.channels.join(', ')],
          ['Posts as', i.alias ? `${i.alias} (${i.username})` : i.username],
          ['Event', i.event && (EVENTS.find(([e]) => e === i.event)?.[1] ?? i.event.toLowerCase())],
          ['URLs', i.urls.length > 0 && i.urls.join(', ')],
          ['Trigger words', i.triggerWords.length > 0 && i.triggerWords.join(', ')],
          ['Token', i.token],
          ['Retries', i.type === 'OUTGOING' && (i.retryFailedCalls ? `${i.retryCount} (${i.retryDelay?.toLowerCase().replace(/_/g, ' ')})` : 'none')],
          ['Hook URL', i.type === 'INCOMING' && 'shown once, when it was created'],
          ['Created', `${when(i.createdAt)}${i.createdBy ? ` by ${i.createdBy.name}` : ''}`],
        ]}
      />

      {i.health && (
        <section aria-labelledby="rc-health-title">
          <h2 id="rc-health-title">Endpoint health</h2>
          <List label="Endpoint health">
            {i.health.map(({ url, health: h }) => (
              <li key={url} class="health" data-health-for={url} data-health-state={h.state}>
                <code class="wrap">{url}</code> <HealthBadge state={h.state} /> <HealthRate health={h} />
                {isAdmin && (h.state === 'OPEN' || h.state === 'DISABLED') && (
                  <ActionButton
                    action={reenable}
                    class="secondary"
                    aria-label={`Re-enable ${url}`}
                    work={async () => {
                      await mutate(ReenableUrl, { input: { integrationId: i.id, url } });
                      await q.reload();
                      return `${url}: re-enabled, its calls go out again.`;
                    }}
                  >
                    Re-enable
                  </ActionButton>
                )}
                <HealthDetails health={h} />
              </li>
            ))}
          </List>
          <ActionNotes action={reenable} />
        </section>
      )}

      <EditForm key={i.id} i={i} saved={q.reload} />

      <section aria-labelledby="history-title">
        <div class="row">
          <h2 id="history-title">History</h2>
          <LiveState live={live} />
        </div>
        <ActionNotes action={replay} />
        {runs.length === 0 ? (
          <p class="muted">No run yet.</p>
        ) : (
          <div class="table-wrap">
            <table class="runs" aria-busy={q.loading}>
              <caption class="visually-hidden">Runs of this integration, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">HTTP</th>
                  <th scope="col">Error</th>
                  {isAdmin && <th scope="col">Replay</th>}
                </tr>
              </thead>
              <tbody>
                {runs.map((run) => (
                  <RunRow
                    key={run.id}
                    run={run}
                    replay={replay}
                    canReplay={isAdmin}
                    onReplay={async () => {
                      const sent = await mutate(ReplayDelivery, { input: { deliveryId: run.deliveryId! } });
                      await q.reload();
                      return `Sent again as attempt ${sent.attempt}.`;
                    }}
                  />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section class="card" aria-labelledby="remove-title">
        <h2 id="remove-title" class="small">
          Remove
        </h2>
        {confirming ? (
          <div class="row">
            <span>Remove {i.name} and its history?</span>
            <ActionButton
              action={remove}
              class="danger"
              work={async () => {
                await mutate(RemoveWebhookIntegration, { input: { id: i.id } });
                location.hash = link('o', o.id, 'rc');
              }}
            >
              Remove {i.name}
            </ActionButton>
            <button type="button" class="secondary" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </div>
        ) : (
          <button type="button" class="secondary danger" onClick={() => setConfirming(true)}>
            Remove…
          </button>
        )}
        <ActionNotes action={remove} />
      </section>
    </>
  );
}
