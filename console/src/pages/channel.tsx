import { useEffect, useRef, useState } from 'preact/hooks';
import { mutate, request, subscribe } from '../client';
import type { ConsoleMessageFragment } from '../gql/graphql';
import { graphql } from '../graphql';
import { SettingsForm } from '../settings-form';
import {
  ActionButton,
  ActionForm,
  ActionNotes,
  Badge,
  CopyButton,
  Crumbs,
  Field,
  List,
  LiveState,
  Loading,
  Notice,
  RenameForm,
  TextField,
  TickTimes,
  TypeBadge,
  link,
  useAction,
  useFields,
  useQuery,
  when,
  type Liveness,
} from '../ui';
import { EnableIntegration, switchIntegration } from './integration';
import { Deliveries } from './deliveries';

const Channel = graphql(`
  query ConsoleChannel($id: ID!) {
    channel(id: $id) {
      id
      name
      description
      webhookUrl
      organisationId
    }
  }
`);

const OrganisationNameQuery = graphql(`
  query ConsoleOrganisationName($id: ID!) {
    organisation(id: $id) {
      id
      name
    }
  }
`);

function OrganisationName({ id }: { id: string }) {
  const q = useQuery(OrganisationNameQuery, { id }, id);
  return <>{q.data?.organisation?.name ?? 'Organisation'}</>;
}

const UpdateChannel = graphql(`
  mutation ConsoleUpdateChannel($input: UpdateChannelInput!) {
    updateChannel(input: $input) {
      ... on MutationUpdateChannelSuccess { data { id name } }
      ...ConsoleFailure
    }
  }
`);

const TABS: [string, string][] = [
  ['messages', 'Messages'],
  ['integrations', 'Integrations'],
  ['deliveries', 'Deliveries'],
];

/** The documented POST body of a channel webhook (the four fields Telex's interval integrations post). */
export function curlExample(webhookUrl: string): string {
  const body = { event_name: 'deploy', message: 'Deployed v1.2.3 to production', status: 'success', username: 'ci-bot' };
  return `curl -X POST '${webhookUrl}' \\\n  -H 'Content-Type: application/json' \\\n  -d '${JSON.stringify(body)}'`;
}

export function ChannelPage({ channelId, tab }: { channelId: string; tab: string }) {
  const q = useQuery(Channel, { id: channelId }, channelId);
  if (!q.data) return <Loading what={q} />;
  const c = q.data.channel;
  if (!c) return <Notice kind="error">This channel does not exist, or you are not a member of its organisation.</Notice>;
  const curl = curlExample(c.webhookUrl);
  return (
    <>
      <Crumbs trail={[[link('o', c.organisationId), <OrganisationName id={c.organisationId} />]]} />
      <h1 tabIndex={-1}>#{c.name}</h1>
      {c.description && <p>{c.description}</p>}
      <section class="card" aria-labelledby="webhook-title">
        <h2 id="webhook-title" class="small">
          Webhook
        </h2>
        <p class="muted">Anyone holding this URL can post to the channel: share it with care.</p>
        <div class="row">
          <code id="webhook-url" class="wrap">
            {c.webhookUrl}
          </code>
          <CopyButton text={c.webhookUrl} label="Copy the webhook URL" />
        </div>
        <details>
          <summary>Example: post a message with curl</summary>
          <pre id="curl-example" class="wrap">
            {curl}
          </pre>
          <CopyButton text={curl} label="Copy the curl example" />
        </details>
        <details>
          <summary>Rename channel</summary>
          <RenameForm
            id="channel-rename"
            current={c.name}
            save={async (name) => {
              await mutate(UpdateChannel, { input: { id: c.id, name } });
              await q.reload();
            }}
          />
        </details>
      </section>
      <nav class="tabs" aria-label="Channel views">
        {TABS.map(([id, label]) => (
          <a key={id} href={link('c', c.id, id)} aria-current={tab === id ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {tab === 'integrations' ? (
        <ChannelIntegrations channelId={c.id} organisationId={c.organisationId} />
      ) : tab === 'deliveries' ? (
        <Deliveries channelId={c.id} organisationId={c.organisationId} />
      ) : (
        <LiveMessages channelId={c.id} />
      )}
    </>
  );
}


// A message as the live channel draws it, from the first page and from the subscription alike.
graphql(`
  fragment ConsoleMessage on Message {
    id
    seq
    message
    username
    alias
    avatar
    emoji
    eventName
    status
    source
    createdAt
    attachments {
      title
      titleLink
      text
      pretext
      color
      imageUrl
      authorName
      footer
      fields {
        title
        value
        short
      }
    }
  }
`);

const Messages = graphql(`
  query ConsoleMessages($channelId: ID!) {
    messages(channelId: $channelId, last: 50) {
      edges {
        node {
          ...ConsoleMessage
        }
      }
    }
  }
`);

const LiveChannel = graphql(`
  subscription ConsoleChannelMessages($channelId: ID!, $after: String) {
    channelMessages(channelId: $channelId, after: $after) {
      recovered
      ...ConsoleMessage
    }
  }
`);

const SendMessage = graphql(`
  mutation ConsoleSendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) {
      ... on MutationSendMessageSuccess { data { id } }
      ...ConsoleFailure
    }
  }
`);

type Msg = ConsoleMessageFragment;

const SAFE_LINK = /^https?:\/\//i;

function Attachment({ a }: { a: Msg['attachments'][number] }) {
  const bar = a.color && /^#?[0-9a-f]{3,8}$/i.test(a.color) ? (a.color.startsWith('#') ? a.color : `#${a.color}`) : undefined;
  return (
    <div class={`attachment${a.color && !bar ? ` tone-${a.color.replace(/[^a-z]/gi, '')}` : ''}`} style={bar ? { borderLeftColor: bar } : undefined}>
      {a.pretext && <p class="muted">{a.pretext}</p>}
      {a.authorName && <p class="muted">{a.authorName}</p>}
      {a.title && <p class="attachment-title">{a.titleLink && SAFE_LINK.test(a.titleLink) ? <a href={a.titleLink} rel="noopener noreferrer" target="_blank">{a.title}</a> : a.title}</p>}
      {a.text && <p class="pre">{a.text}</p>}
      {a.fields.length > 0 && (
        <dl class="attachment-fields">
          {a.fields.map((f, n) => (
            <div key={n} class={f.short ? 'short' : undefined}>
              <dt>{f.title}</dt>
              <dd>{f.value}</dd>
            </div>
          ))}
        </dl>
      )}
      {a.imageUrl && SAFE_LINK.test(a.imageUrl) && <img src={a.imageUrl} alt={a.title ?? 'attachment image'} class="attachment-image" referrerpolicy="no-referrer" />}
      {a.footer && <p class="muted small">{a.footer}</p>}
    </div>
  );
}

function MessageItem({ m }: { m: Msg }) {
  const author = m.alias || m.username;
  return (
    <li class="message" data-message-id={m.id}>
      <div class="message-head">
        {m.avatar && SAFE_LINK.test(m.avatar) ? <img src={m.avatar} alt="" width={24} height={24} class="avatar" referrerpolicy="no-referrer" /> : m.emoji ? <span aria-hidden="true">{m.emoji}</span> : null}
        <strong>{author}</strong>
        <span class="muted">{m.eventName}</span>
        <Badge tone={/^(error|fail|failed|failure)$/i.test(m.status) ? 'bad' : /^success$/i.test(m.status) ? 'ok' : 'plain'}>{m.status}</Badge>
        <time class="muted" dateTime={m.createdAt}>
          {when(m.createdAt)}
        </time>
      </div>
      {m.message && <p class="pre">{m.message}</p>}
      {m.attachments.map((a, n) => (
        <Attachment key={n} a={a} />
      ))}
    </li>
  );
}

function LiveMessages({ channelId }: { channelId: string }) {
  const [messages, setMessages] = useState<Map<string, Msg>>(new Map());
  const [state, setState] = useState<Liveness>({ state: 'connecting' });
  const [error, setError] = useState<string | null>(null);
  const [gap, setGap] = useState(false);
  const [generation, setGeneration] = useState(0);
  // The commit number (`seq`) of the newest message held: where the subscription resumes.
  const last = useRef(0);
  const bottom = useRef<HTMLDivElement>(null);
  const draft = useFields({ message: '', username: '' });
  const send = useAction();

  useEffect(() => {
    let live: { stop(): void } | undefined;
    let cancelled = false;
    last.current = 0;
    setGap(false);
    const add = (list: Msg[], fresh = false) => {
      setMessages((current) => {
        const next = new Map(fresh ? [] : current);
        for (const m of list) next.set(m.id, m);
        return new Map([...next].sort(([, a], [, b]) => a.seq - b.seq));
      });
      for (const m of list) last.current = Math.max(last.current, m.seq);
    };
    request(Messages, { channelId })
      .then((page) => {
        if (cancelled) return;
        add(
          page.messages.edges.map((e) => e.node),
          true,
        );
        // Resume after the newest message held, on the first subscription and after every reconnect: the
        // gateway replays what was committed after it, in commit order, and the map keyed by id drops anything
        // seen twice. `after: "0"` on an empty channel replays from its first message.
        live = subscribe(LiveChannel, () => ({ channelId, after: String(last.current) }), {
          next: ({ channelMessages: { recovered, ...m } }) => {
            // The gateway could not prove that nothing was skipped before this message.
            if (recovered === false) setGap(true);
            add([m]);
          },
          state: (s, detail) => setState({ state: s, detail }),
        });
      })
      .catch((e: Error) => setError(e.message));
    return () => {
      cancelled = true;
      live?.stop();
    };
  }, [channelId, generation]);

  useEffect(() => bottom.current?.scrollIntoView({ block: 'nearest' }), [messages]);

  const list = [...messages.values()];
  return (
    <section aria-labelledby="messages-title">
      <div class="row">
        <h2 id="messages-title">Messages</h2>
        <LiveState live={state} />
      </div>
      {error && <Notice kind="error">Could not load messages: {error}</Notice>}
      {gap && (
        <div class="notice notice-warn row" role="alert">
          <span>Some messages may be missing: the gateway could not prove that none was skipped while reconnecting.</span>
          <button type="button" class="secondary" onClick={() => setGeneration((g) => g + 1)}>
            Reload messages
          </button>
        </div>
      )}
      <ol class="messages" role="log" aria-label="Channel messages" aria-live="polite">
        {list.length === 0 && <li class="muted">No message yet. Post one to the webhook, or send one below.</li>}
        {list.map((m) => (
          <MessageItem key={m.id} m={m} />
        ))}
      </ol>
      <div ref={bottom} />
      <ActionForm
        action={send}
        label="Send a message"
        submit="Send"
        onSubmit={async () => {
          const { message, username } = draft.values;
          await mutate(SendMessage, { input: { channelId, message, username: username.trim() || undefined } });
          draft.set('message')('');
        }}
      >
        <Field id="send-text" name="message" label="Message">
          {(props) => <textarea {...props} required rows={2} value={draft.values.message} onInput={(e) => draft.set('message')(e.currentTarget.value)} />}
        </Field>
        <TextField id="send-username" name="username" label="Send as (optional)" maxLength={255} value={draft.values.username} onValue={draft.set('username')} placeholder="your user name" />
      </ActionForm>
    </section>
  );
}

const ChannelIntegrationsQuery = graphql(`
  query ConsoleChannelIntegrations($channelId: ID!, $organisationId: ID!) {
    channel(id: $channelId) {
      id
      integrations {
        id
        position
        lastTickAt
        nextTickAt
        missedSlots
        warnings
        effectiveSettings {
          label
          value
          source
        }
        settings {
          id
          label
        }
        integration {
          id
          name
          appLogo
          integrationType
          isActive
          settingsSchema {
            label
            type
            options
            required
            description
          }
        }
      }
    }
    organisation(id: $organisationId) {
      id
      viewerRole
      integrations {
        id
        name
        integrationType
      }
    }
  }
`);

const SetChannelSetting = graphql(`
  mutation ConsoleSetChannelIntegrationSetting($input: SetChannelIntegrationSettingInput!) {
    setChannelIntegrationSetting(input: $input) {
      ... on MutationSetChannelIntegrationSettingSuccess { data { id } }
      ...ConsoleFailure
    }
  }
`);

const DeleteChannelSetting = graphql(`
  mutation ConsoleDeleteChannelIntegrationSetting($input: DeleteChannelIntegrationSettingInput!) {
    deleteChannelIntegrationSetting(input: $input) {
      ... on MutationDeleteChannelIntegrationSettingSuccess { data { id } }
      ...ConsoleFailure
    }
  }
`);

function ChannelIntegrations({ channelId, organisationId }: { channelId: string; organisationId: string }) {
  const q = useQuery(ChannelIntegrationsQuery, { channelId, organisationId }, channelId);
  const change = useAction();
  if (!q.data) return <Loading what={q} />;
  const links = q.data.channel?.integrations ?? [];
  const org = q.data.organisation;
  const canManage = org?.viewerRole !== 'MEMBER';
  const on = new Set(links.map((l) => l.integration.id));
  const off = (org?.integrations ?? []).filter((i) => !on.has(i.id));

  // Modifiers run in ascending position: moving one swaps it with its neighbour, and every link whose place
  // changed is given its new index.
  const move = (from: number, to: number) =>
    void change.run(async () => {
      const order = [...links];
      const [moved] = order.splice(from, 1);
      order.splice(to, 0, moved);
      for (const [index, l] of order.entries()) {
        if (l.position !== index) await mutate(EnableIntegration, { input: { integrationId: l.integration.id, channelId, position: index } });
      }
      await q.reload();
      return `${moved.integration.name} moved to place ${to + 1}.`;
    });

  return (
    <section aria-labelledby="chain-title">
      <h2 id="chain-title">Integrations in this channel</h2>
      <p class="muted">Modifiers change each message in this order before it is stored; outputs and interval integrations receive it after.</p>
      <ol class="chain" aria-label="Integrations in order">
        {links.length === 0 && <li class="muted">No integration is switched on here yet.</li>}
        {links.map((l, n) => (
          <li key={l.id} class="card">
            <div class="row">
              <strong>
                {n + 1}. <a href={link('o', organisationId, 'i', l.integration.id)}>{l.integration.name}</a>
              </strong>
              <TypeBadge type={l.integration.integrationType} />
              {!l.integration.isActive && <Badge tone="warn">inactive</Badge>}
              {canManage && (
                <span class="row tight">
                  <button type="button" class="secondary" disabled={n === 0 || change.busy} onClick={() => move(n, n - 1)} aria-label={`Move ${l.integration.name} up`}>
                    ↑
                  </button>
                  <button type="button" class="secondary" disabled={n === links.length - 1 || change.busy} onClick={() => move(n, n + 1)} aria-label={`Move ${l.integration.name} down`}>
                    ↓
                  </button>
                  <ActionButton
                    action={change}
                    class="secondary danger"
                    work={async () => {
                      await switchIntegration(l.integration.id, channelId, false);
                      await q.reload();
                      return `${l.integration.name} switched off here.`;
                    }}
                  >
                    Switch off
                  </ActionButton>
                </span>
              )}
            </div>
            {l.integration.integrationType === 'INTERVAL' && (
              <p>
                <TickTimes lastTickAt={l.lastTickAt} nextTickAt={l.nextTickAt} missedSlots={l.missedSlots} />
              </p>
            )}
            {l.warnings.map((w) => (
              <Notice key={w} kind="warn">
                {w}
              </Notice>
            ))}
            <details>
              <summary>Settings in this channel</summary>
              <SettingsForm
                idPrefix={`ch-${l.id}`}
                schema={l.integration.settingsSchema}
                effective={l.effectiveSettings}
                disabled={!canManage}
                save={async (label, value) => void (await mutate(SetChannelSetting, { input: { integrationId: l.integration.id, channelId, label, value } }))}
                clear={async (label) => {
                  const own = l.settings.find((s) => s.label === label);
                  if (own) await mutate(DeleteChannelSetting, { input: { id: own.id } });
                }}
                saved={q.reload}
              />
            </details>
          </li>
        ))}
      </ol>
      {canManage && off.length > 0 && (
        <>
          <h3>Switch on</h3>
          <List label="Integrations to switch on">
            {off.map((i) => (
              <li key={i.id} class="row">
                <span>
                  {i.name} <TypeBadge type={i.integrationType} />
                </span>
                <ActionButton
                  action={change}
                  work={async () => {
                    const note = await switchIntegration(i.id, channelId, true);
                    await q.reload();
                    return `${i.name}: ${note}`;
                  }}
                >
                  Switch on {i.name}
                </ActionButton>
              </li>
            ))}
          </List>
        </>
      )}
      <ActionNotes action={change} />
    </section>
  );
}
