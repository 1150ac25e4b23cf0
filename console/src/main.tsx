/**
 * The Switchboard console: sign in with an access token, then organisations, channels, integrations, their
 * settings, a live channel and its deliveries, and Rocket.Chat integrations. Views live in the URL fragment (`#/o/<id>` ...), so links and
 * the back button work without the server knowing the views.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, onSignedOut, request, token } from './client';
import { graphql } from './graphql';
import { ChannelPage } from './pages/channel';
import { IntegrationPage } from './pages/integration';
import { OrganisationPage } from './pages/organisation';
import { OrganisationsPage } from './pages/organisations';
import { WebhookIntegrationPage, WebhookIntegrationsPage } from './pages/rocketchat';
import { Notice, link } from './ui';
import './styles.css';

const Viewer = graphql(`
  query ConsoleViewer {
    viewer {
      id
      name
      isAdmin
    }
  }
`);

type ViewerData = { id: string; name: string; isAdmin: boolean };

function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => {
      setRoute(read());
      // Move focus to the new view's heading, as a page load would, for keyboard and screen-reader users.
      requestAnimationFrame(() => document.querySelector<HTMLElement>('main h1')?.focus());
    };
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

function SignIn({ onSignedIn, reason }: { onSignedIn(viewer: ViewerData): void; reason: string | null }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(reason);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { viewer } = await request(Viewer, {}, value.trim());
      if (!viewer) throw new ApiError('The gateway does not know this token.');
      token.set(value.trim());
      onSignedIn(viewer);
    } catch (err) {
      setError(err instanceof ApiError && err.code === 'UNAUTHENTICATED' ? 'The gateway does not know this token.' : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <h1 tabIndex={-1}>Sign in to Switchboard</h1>
      <form onSubmit={submit} class="card">
        <label for="token">Access token</label>
        <input id="token" name="token" type="password" autoComplete="off" required value={value} onInput={(e) => setValue(e.currentTarget.value)} aria-describedby="token-help" />
        <p id="token-help" class="muted">
          The token <code>npm start</code> printed on its first start (or <code>SWITCHBOARD_ADMIN_TOKEN</code>), or one from <code>createAccessToken</code>. It is kept in this tab only.
        </p>
        {error && <Notice kind="error">{error}</Notice>}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

function App() {
  const [viewer, setViewer] = useState<ViewerData | null>(null);
  const [checking, setChecking] = useState(!!token.get());
  const [reason, setReason] = useState<string | null>(null);
  const route = useRoute();

  useEffect(() => {
    const off = onSignedOut(() => {
      token.clear();
      setViewer(null);
      setReason('Your token is no longer accepted: sign in again.');
    });
    if (token.get()) {
      request(Viewer, {})
        .then(({ viewer }) => setViewer(viewer ?? null))
        .catch(() => undefined)
        .finally(() => setChecking(false));
    }
    return () => void off();
  }, []);

  if (checking) return <p role="status">Loading…</p>;
  if (!viewer) return <SignIn onSignedIn={(v) => (setReason(null), setViewer(v))} reason={reason} />;

  const [section, id, ...rest] = route;
  let view;
  if (section === 'o' && id && rest[0] === 'i' && rest[1]) view = <IntegrationPage key={rest[1]} organisationId={id} integrationId={rest[1]} />;
  else if (section === 'o' && id && rest[0] === 'rc' && rest[1]) view = <WebhookIntegrationPage key={rest[1]} organisationId={id} integrationId={rest[1]} />;
  else if (section === 'o' && id && rest[0] === 'rc') view = <WebhookIntegrationsPage key={id} organisationId={id} />;
  else if (section === 'o' && id) view = <OrganisationPage key={id} organisationId={id} />;
  else if (section === 'c' && id) view = <ChannelPage key={id} channelId={id} tab={rest[0] ?? 'messages'} />;
  else view = <OrganisationsPage />;

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={link()}>
          Switchboard
        </a>
        <nav aria-label="Console">
          <a href={link()}>Organisations</a>
          <a href="/graphql">GraphiQL</a>
        </nav>
        <span class="who">
          Signed in as <strong>{viewer.name}</strong>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              token.clear();
              setViewer(null);
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {view}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
