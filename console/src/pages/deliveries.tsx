import { useEffect, useRef, useState } from 'preact/hooks';
import { mutate, request, subscribe } from '../client';
import type { ConsoleDeliveryEventsSubscription, ConsoleDeliveryFragment, ConsoleLinkHealthFragment } from '../gql/graphql';
import { graphql } from '../graphql';
import {
  ActionButton,
  ActionForm,
  ActionNotes,
  Badge,
  HealthBadge,
  HealthDetails,
  HealthRate,
  List,
  LiveState,
  Loading,
  Notice,
  SelectField,
  TextField,
  TickTimes,
  TypeBadge,
  count,
  useAction,
  useSoon,
  when,
  type Liveness,
  type Tone,
} from '../ui';

// A row of the table, from a read of the history and from a live event alike.
graphql(`
  fragment ConsoleDelivery on Delivery {
    id
    kind
    url
    status
    statusCode
    latencyMs
    error
    attempt
    requestId
    createdAt
    nextAttemptAt
    targetId
    messageId
    replayOf
  }
`);

// An integration of the channel with its endpoint's health (and, interval ones, their ticks).
graphql(`
  fragment ConsoleLinkHealth on ChannelIntegration {
    id
    lastTickAt
    nextTickAt
    missedSlots
    integration {
      id
      name
      integrationType
    }
    health {
      ...ConsoleHealth
    }
  }
`);

const DeliveriesQuery = graphql(`
  query ConsoleDeliveries($channelId: ID!, $organisationId: ID!, $status: String, $after: String) {
    channel(id: $channelId) {
      id
      integrations {
        ...ConsoleLinkHealth
      }
      deliveries(first: 50, status: $status, after: $after) {
        edges {
          node {
            ...ConsoleDelivery
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
    organisation(id: $organisationId) {
      id
      viewerRole
      integrations {
        id
        name
      }
    }
  }
`);

// Read again after live events: what they do not carry (the counts of the last 24 hours).
const HealthQuery = graphql(`
  query ConsoleDeliveryHealth($channelId: ID!) {
    channel(id: $channelId) {
      id
      integrations {
        ...ConsoleLinkHealth
      }
    }
  }
`);

const DeliveryEvents = graphql(`
  subscription ConsoleDeliveryEvents($organisationId: ID!, $channelId: ID) {
    deliveryEvents(organisationId: $organisationId, channelId: $channelId) {
      kind
      retryAt
      delivery {
        ...ConsoleDelivery
      }
      target {
        integrationId
        state
        consecutiveFailures
        lastError
        openUntil
        disabledReason
      }
    }
  }
`);

export const ReplayDelivery = graphql(`
  mutation ConsoleReplayDelivery($input: ReplayDeliveryInput!) {
    replayDelivery(input: $input) {
      ... on MutationReplayDeliverySuccess { data { id attempt } }
      ...ConsoleFailure
    }
  }
`);

const ReenableDeliveryTarget = graphql(`
  mutation ConsoleReenableDeliveryTarget($input: ReenableDeliveryTargetInput!) {
    reenableDeliveryTarget(input: $input) {
      ... on MutationReenableDeliveryTargetSuccess { data { state } }
      ...ConsoleFailure
    }
  }
`);

const RecoverDeliveries = graphql(`
  mutation ConsoleRecoverDeliveries($input: RecoverDeliveriesInput!) {
    recoverDeliveries(input: $input) {
      ... on MutationRecoverDeliveriesSuccess { data { count remaining } }
      ...ConsoleFailure
    }
  }
`);

// Calls the queue made (and so can make again); modifiers, ticks and slash commands had their answer used at once.
const REPLAYABLE = new Set(['output', 'rocketchat-outgoing', 'custom-channel']);

/** A datetime-local value (local time, minutes) for a moment. */
function localInput(at: Date): string {
  const local = new Date(at.getTime() - at.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

type Row = ConsoleDeliveryFragment;
type Link = ConsoleLinkHealthFragment;
type Event = ConsoleDeliveryEventsSubscription['deliveryEvents'];

/**
 * An organisation's delivery events (one channel's, or with `channelId` null all of them), handed to `event` as
 * they come, and the subscription's state. Events are not replayed, so `readAgain` is called each time the
 * subscription starts or starts again, and every 5 s while it is down.
 */
export function useDeliveryEvents(organisationId: string, channelId: string | null, handlers: { event(event: Event): void; readAgain(): void }): Liveness {
  const [live, setLive] = useState<Liveness>({ state: 'connecting' });
  const latest = useRef(handlers);
  latest.current = handlers;
  useEffect(() => {
    const events = subscribe(DeliveryEvents, () => ({ organisationId, channelId }), {
      next: ({ deliveryEvents }) => latest.current.event(deliveryEvents),
      state: (state, detail) => setLive({ state, detail }),
    });
    return () => events.stop();
  }, [organisationId, channelId]);
  const isLive = live.state === 'live';
  useEffect(() => {
    if (isLive) return latest.current.readAgain();
    const timer = setInterval(() => latest.current.readAgain(), 5_000);
    return () => clearInterval(timer);
  }, [isLive]);
  return live;
}

/** Each integration of the channel: its endpoint's circuit, how its calls fared over the last 24 hours, and (interval ones) its ticks. */
function EndpointHealth({ links, channelId, canManage, reload }: { links: Link[]; channelId: string; canManage: boolean; reload(): Promise<void> }) {
  const reenable = useAction();
  return (
    <section aria-labelledby="health-title">
      <h3 id="health-title">Endpoint health</h3>
      <List label="Endpoint health" empty="No integration is switched on here.">
        {links.map(({ integration: i, health: h, ...l }) => {
          const queued = i.integrationType !== 'MODIFIER';
          return (
            <li key={l.id} class="health" data-health-for={i.name} data-health-state={queued ? h.state : undefined}>
              <strong>{i.name}</strong> <TypeBadge type={i.integrationType} />
              {queued ? (
                <>
                  <HealthBadge state={h.state} />
                  <HealthRate health={h} />
                  {canManage && (h.state === 'OPEN' || h.state === 'DISABLED') && (
                    <ActionButton
                      action={reenable}
                      class="secondary"
                      aria-label={`Re-enable ${i.name}`}
                      work={async () => {
                        await mutate(ReenableDeliveryTarget, { input: { channelId, integrationId: i.id } });
                        await reload();
                        return `${i.name}: re-enabled, its calls go out again. Send the calls that failed meanwhile again with Recover.`;
                      }}
                    >
                      Re-enable
                    </ActionButton>
                  )}
                  <HealthDetails health={h} />
                </>
              ) : (
                <span class="muted">A modifier's calls are not queued: one that fails or is slow is skipped for that message.</span>
              )}
              {i.integrationType === 'INTERVAL' && <TickTimes lastTickAt={l.lastTickAt} nextTickAt={l.nextTickAt} missedSlots={l.missedSlots} />}
            </li>
          );
        })}
      </List>
      <ActionNotes action={reenable} />
    </section>
  );
}
/** Of a row as read and as an event told it, the later: a call leaves `pending` once and never goes back. */
function fresher(read: Row, heard: Row | undefined): Row {
  return heard && !(heard.status === 'pending' && read.status !== 'pending') ? heard : read;
}

const STATUSES = ['pending', 'succeeded', 'failed', 'retried'];
const TONE: Record<string, Tone> = { succeeded: 'ok', failed: 'bad', retried: 'warn', pending: 'plain' };

/** A channel's outbound calls, newest first: what each integration was sent, how it answered, and why it failed. */
export function Deliveries({ channelId, organisationId }: { channelId: string; organisationId: string }) {
  const [status, setStatus] = useState('');
  const [integration, setIntegration] = useState('');
  const [rows, setRows] = useState<Row[]>([]);
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const [links, setLinks] = useState<Link[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [refreshed, setRefreshed] = useState<string | null>(null);
  // The status filter the rows shown were read with (the select changes before they are read again).
  const [shownFilter, setShownFilter] = useState<string | null>(null);
  const [canManage, setCanManage] = useState(false);
  const replay = useAction();
  const recover = useAction();
  const [recoverFor, setRecoverFor] = useState('');
  const [since, setSince] = useState(() => localInput(new Date(Date.now() - 60 * 60_000)));

  // Once older pages are shown, the view stops refreshing itself (a refresh reads the newest page only).
  const older = useRef(false);
  // Only the latest read is shown: a slower earlier one (the filter before a change, a timed refresh) is dropped.
  const latest = useRef(0);
  // The rows events brought while the latest read was in flight (null when none is): its answer may predate them
  // (a replay's success can come between the read's query and its answer), so they are laid over the rows it read.
  const heard = useRef<Map<string, Row> | null>(null);
  const load = async (after: string | null) => {
    const mine = ++latest.current;
    older.current = !!after;
    const events = (heard.current = new Map<string, Row>());
    setLoading(true);
    try {
      const data = await request(DeliveriesQuery, { channelId, organisationId, status: status || null, after });
      if (mine !== latest.current) return;
      const page = data.channel?.deliveries;
      setNames(new Map((data.organisation?.integrations ?? []).map((i) => [i.id, i.name])));
      setLinks(data.channel?.integrations ?? []);
      setCanManage(!!data.organisation && data.organisation.viewerRole !== 'MEMBER');
      const read = (page?.edges ?? []).map((e) => fresher(e.node, events.get(e.node.id)));
      const readIds = new Set(read.map((r) => r.id));
      const since = after ? [] : [...events.values()].filter((r) => !readIds.has(r.id) && (!status || r.status === status));
      setRows((current) => [...since, ...(after ? current : []), ...read]);
      setNext(page?.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null);
      setError(null);
      setShownFilter(status);
      setRefreshed(new Date().toISOString());
    } catch (e) {
      if (mine === latest.current) setError((e as Error).message);
    } finally {
      if (mine === latest.current) {
        setLoading(false);
        heard.current = null;
      }
    }
  };

  useEffect(() => void load(null), [channelId, status]);

  // An event's row takes its place in the table (or leaves it, if it no longer matches the status filter); a change
  // of a circuit shows at once, and the counts it does not carry are read again once events pause.
  const healthSoon = useSoon(500, async () => {
    const data = await request(HealthQuery, { channelId });
    if (data.channel) setLinks(data.channel.integrations);
  });
  const live = useDeliveryEvents(organisationId, channelId, {
    event(event) {
      if (event.delivery) {
        const row = { ...event.delivery, nextAttemptAt: event.retryAt ?? event.delivery.nextAttemptAt };
        const wanted = !status || row.status === status;
        heard.current?.set(row.id, row);
        setRows((current) => {
          const at = current.findIndex((r) => r.id === row.id);
          if (at < 0) return wanted ? [row, ...current] : current;
          return wanted ? current.map((r, n) => (n === at ? row : r)) : current.filter((r) => r.id !== row.id);
        });
      }
      if (event.target) {
        const { integrationId, ...changed } = event.target;
        setLinks((current) => current && current.map((l) => (l.integration.id === integrationId ? { ...l, health: { ...l.health, ...changed } } : l)));
      }
      healthSoon();
    },
    readAgain() {
      if (!older.current) void load(null);
    },
  });

  const shown = integration ? rows.filter((r) => r.targetId === integration) : rows;
  return (
    <section aria-labelledby="deliveries-title">
      <div class="row">
        <h2 id="deliveries-title">Deliveries</h2>
        <LiveState live={live} />
      </div>
      {links && <EndpointHealth links={links} channelId={channelId} canManage={canManage} reload={() => load(null)} />}
      <h3>Calls</h3>
      <form class="row" onSubmit={(e) => e.preventDefault()} aria-label="Filter deliveries">
        <SelectField id="delivery-integration" label="Integration" value={integration} onValue={setIntegration} none="All" choices={[...names]} />
        <SelectField id="delivery-status" label="Status" value={status} onValue={setStatus} none="Any" choices={STATUSES.map((s) => [s, s])} />
        <button type="button" class="secondary" onClick={() => void load(null)} disabled={loading}>
          Refresh
        </button>
        <span class="muted small" role="status">
          {refreshed && `Updated ${when(refreshed)}`}
        </span>
      </form>
      {error && <Notice kind="error">Could not load deliveries: {error}</Notice>}
      <ActionNotes action={replay} />
      {loading && rows.length === 0 && <Loading what={{ data: undefined, error: null, loading: true }} />}
      {!loading && shown.length === 0 && <p class="muted">No delivery yet.</p>}
      <div class="table-wrap">
        <table class="deliveries" aria-busy={loading} data-status-filter={shownFilter ?? undefined}>
          <caption class="visually-hidden">Outbound calls of this channel, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Integration</th>
              <th scope="col">Status</th>
              <th scope="col">HTTP</th>
              <th scope="col">Latency</th>
              <th scope="col">Error</th>
              <th scope="col">Request id</th>
              {canManage && <th scope="col">Replay</th>}
            </tr>
          </thead>
          <tbody>
            {shown.map((d) => (
              <tr key={d.id} data-delivery-id={d.id} data-status={d.status} data-message-id={d.messageId ?? undefined} data-replay-of={d.replayOf ?? undefined}>
                <td>
                  <time dateTime={d.createdAt}>{when(d.createdAt)}</time>
                  <div class="muted small">
                    {d.kind} · attempt {d.attempt}
                    {d.replayOf && ' · replay'}
                  </div>
                </td>
                <td>
                  {(d.targetId && names.get(d.targetId)) ?? '—'}
                  <div class="muted small wrap">{d.url}</div>
                </td>
                <td>
                  <Badge tone={TONE[d.status] ?? 'plain'}>{d.status}</Badge>
                  {d.nextAttemptAt && d.status !== 'succeeded' && <div class="muted small">next try {when(d.nextAttemptAt)}</div>}
                </td>
                <td>{d.statusCode ?? '—'}</td>
                <td>{d.latencyMs != null ? `${d.latencyMs} ms` : '—'}</td>
                <td class="wrap">{d.error ?? ''}</td>
                <td>
                  <code class="small">{d.requestId ?? '—'}</code>
                </td>
                {canManage && (
                  <td>
                    {REPLAYABLE.has(d.kind) && d.status !== 'pending' && (
                      <ActionButton
                        action={replay}
                        class="secondary"
                        aria-label={`Replay the ${d.kind} call of ${when(d.createdAt)} (attempt ${d.attempt})`}
                        work={async () => {
                          const sent = await mutate(ReplayDelivery, { input: { deliveryId: d.id } });
                          await load(null);
                          return `Sent again as attempt ${sent.attempt}.`;
                        }}
                      >
                        Replay
                      </ActionButton>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {next && (
        <button type="button" class="secondary" onClick={() => void load(next)} disabled={loading}>
          Older deliveries
        </button>
      )}
      {canManage && (
        <ActionForm
          action={recover}
          labelledBy="recover-title"
          submit="Send failed calls again"
          onSubmit={async () => {
            const done = await mutate(RecoverDeliveries, { input: { channelId, integrationId: recoverFor, since: new Date(since).toISOString() } });
            await load(null);
            if (!done.count) return 'No failed call to send again since then.';
            return `${count(done.count, 'failed call')} sent again${done.remaining ? `; ${done.remaining} more remain: run it again once these are done` : ''}.`;
          }}
        >
          <h3 id="recover-title">Recover</h3>
          <p class="muted">Send again every call to one integration that failed for good (its retries are over) since a time.</p>
          <SelectField id="recover-integration" name="integrationId" label="Integration to recover" required value={recoverFor} onValue={setRecoverFor} none="Choose…" choices={[...names]} />
          <TextField id="recover-since" name="since" label="Failed since" type="datetime-local" required value={since} onValue={setSince} />
        </ActionForm>
      )}
    </section>
  );
}
