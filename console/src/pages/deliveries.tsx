import { useEffect, useState } from 'preact/hooks';
import { request } from '../client';
import type { ConsoleDeliveriesQuery } from '../gql/graphql';
import { graphql } from '../graphql';
import { Badge, Loading, Notice, when } from '../ui';

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
      integrations {
        id
        name
      }
    }
  }
`);

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

  const load = async (after: string | null) => {
    setLoading(true);
    try {
      const data = await request(DeliveriesQuery, { channelId, organisationId, status: status || null, after });
      const page = data.channel?.deliveries;
      setNames(new Map((data.organisation?.integrations ?? []).map((i) => [i.id, i.name])));
      setRows((current) => [...(after ? current : []), ...(page?.edges.map((e) => e.node) ?? [])]);
      setNext(page?.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null);
      setError(null);
      setRefreshed(new Date().toISOString());
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setLoading(false);
    }
  };

  // The newest page is read again every 5 s while the view is open (retries and replays change it).
  useEffect(() => {
    void load(null);
    const timer = setInterval(() => void load(null), 5_000);
    return () => clearInterval(timer);
  }, [channelId, status]);

  const shown = integration ? rows.filter((r) => r.targetId === integration) : rows;
  return (
    <section aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">Deliveries</h2>
      <form class="row" onSubmit={(e) => e.preventDefault()} aria-label="Filter deliveries">
        <label for="delivery-integration">Integration</label>
        <select id="delivery-integration" value={integration} onChange={(e) => setIntegration(e.currentTarget.value)}>
          <option value="">All</option>
          {[...names].map(([id, name]) => (
            <option key={id} value={id}>
              {name}
            </option>
          ))}
        </select>
        <label for="delivery-status">Status</label>
        <select id="delivery-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
          <option value="">Any</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <button type="button" class="secondary" onClick={() => void load(null)} disabled={loading}>
          Refresh
        </button>
        <span class="muted small" role="status">
          {refreshed && `Updated ${when(refreshed)}`}
        </span>
      </form>
      {error && <Notice kind="error">Could not load deliveries: {error}</Notice>}
      {loading && rows.length === 0 && <Loading what={{ data: undefined, error: null, loading: true, reload: async () => undefined }} />}
      {!loading && shown.length === 0 && <p class="muted">No delivery yet.</p>}
      <div class="table-wrap">
        <table class="deliveries">
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
            </tr>
          </thead>
          <tbody>
            {shown.map((d) => (
              <tr key={d.id} data-delivery-id={d.id} data-status={d.status}>
                <td>
                  <time dateTime={d.createdAt}>{when(d.createdAt)}</time>
                  <div class="muted small">
                    {d.kind} · attempt {d.attempt}
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
    </section>
  );
}
