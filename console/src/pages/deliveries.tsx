import { useEffect, useRef, useState } from 'preact/hooks';
import { mutate, request } from '../client';
import type { ConsoleDeliveriesQuery } from '../gql/graphql';
import { graphql } from '../graphql';
import { ActionButton, ActionForm, ActionNotes, Badge, Loading, Notice, SelectField, TextField, count, useAction, when } from '../ui';

const DeliveriesQuery = graphql(`
  query ConsoleDeliveries($channelId: ID!, $organisationId: ID!, $status: String, $after: String) {
    channel(id: $channelId) {
      id
      deliveries(first: 50, status: $status, after: $after) {
        edges {
          node {
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

const ReplayDelivery = graphql(`
  mutation ConsoleReplayDelivery($input: ReplayDeliveryInput!) {
    replayDelivery(input: $input) {
      __typename
      ... on MutationReplayDeliverySuccess {
        data {
          id
          attempt
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const RecoverDeliveries = graphql(`
  mutation ConsoleRecoverDeliveries($input: RecoverDeliveriesInput!) {
    recoverDeliveries(input: $input) {
      __typename
      ... on MutationRecoverDeliveriesSuccess {
        data {
          count
          remaining
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

// Calls the queue made (and so can make again); modifiers, ticks and slash commands had their answer used at once.
const REPLAYABLE = new Set(['output', 'rocketchat-outgoing', 'custom-channel']);

/** A datetime-local value (local time, minutes) for a moment. */
function localInput(at: Date): string {
  const local = new Date(at.getTime() - at.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

type Row = NonNullable<ConsoleDeliveriesQuery['channel']>['deliveries']['edges'][number]['node'];
const STATUSES = ['pending', 'succeeded', 'failed', 'retried'];
const TONE: Record<string, 'ok' | 'bad' | 'warn' | 'plain'> = { succeeded: 'ok', failed: 'bad', retried: 'warn', pending: 'plain' };

/** A channel's outbound calls, newest first: what each integration was sent, how it answered, and why it failed. */
export function Deliveries({ channelId, organisationId }: { channelId: string; organisationId: string }) {
  const [status, setStatus] = useState('');
  const [integration, setIntegration] = useState('');
  const [rows, setRows] = useState<Row[]>([]);
  const [names, setNames] = useState<Map<string, string>>(new Map());
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
  const load = async (after: string | null) => {
    const mine = ++latest.current;
    older.current = !!after;
    setLoading(true);
    try {
      const data = await request(DeliveriesQuery, { channelId, organisationId, status: status || null, after });
      if (mine !== latest.current) return;
      const page = data.channel?.deliveries;
      setNames(new Map((data.organisation?.integrations ?? []).map((i) => [i.id, i.name])));
      setCanManage(!!data.organisation && data.organisation.viewerRole !== 'MEMBER');
      setRows((current) => [...(after ? current : []), ...(page?.edges.map((e) => e.node) ?? [])]);
      setNext(page?.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null);
      setError(null);
      setShownFilter(status);
      setRefreshed(new Date().toISOString());
    } catch (e) {
      if (mine === latest.current) setError((e as Error).message);
    } finally {
      if (mine === latest.current) setLoading(false);
    }
  };

  // The newest page is read again every 5 s while the view is open (retries and replays change it).
  useEffect(() => {
    void load(null);
    const timer = setInterval(() => {
      if (!older.current) void load(null);
    }, 5_000);
    return () => clearInterval(timer);
  }, [channelId, status]);

  const shown = integration ? rows.filter((r) => r.targetId === integration) : rows;
  return (
    <section aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">Deliveries</h2>
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
              <tr key={d.id} data-delivery-id={d.id} data-status={d.status} data-replay-of={d.replayOf ?? undefined}>
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
