/**
 * The web console at /console in a real headless Chromium (Debian's package, driven by playwright-core), walking
 * a newcomer's path against a real gateway and real local servers: sign in with the printed token, create an
 * organisation and a channel, install a spec served by a local server (reviewing what it declares), fill every
 * kind of setting and see a refused one at its field, switch the integration on, post to the channel webhook and
 * see the message arrive live (and the missed ones after the connection drops, once each), see the failing
 * output's delivery and its endpoint's open circuit, fix the endpoint and replay it (which closes the circuit),
 * and recover a call that failed for good. The page reaches the gateway through a TCP proxy the test can cut, as a
 * network drop would. Screenshots of each step go to test-artifacts/console/ (not committed).
 */
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ServerResponse } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentedModifier } from './fixtures/specs.js';
import { startTestApp, type TestApp } from './support/app.js';
import { chromiumAvailable, launchChromium, unlabelled } from './support/console-page.js';
import { json, startServer, type LocalServer } from './support/http-server.js';

const ARTIFACTS = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../test-artifacts/console');
const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" rx="8" fill="#1d4ed8"/></svg>';

/** A TCP proxy in front of the gateway: `cut()` drops every connection and refuses new ones until `restore()`. */
async function startProxy(target: string) {
  const { hostname, port } = new URL(target);
  const open = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = net.connect(Number(port), hostname);
    open.add(client);
    open.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut() {
      refusing = true;
      for (const socket of open) socket.destroy();
    },
    restore() {
      refusing = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The spec the newcomer installs: Telex's documented example as an output, with a multi-select and a default in the wrong letter case. */
function consoleSpec(specServer: string, targetUrl: string) {
  const spec = documentedModifier(targetUrl);
  return {
    data: {
      ...spec.data,
      integration_type: 'output',
      integration_category: 'Communication & Collaboration',
      descriptions: {
        ...spec.data.descriptions,
        app_name: 'Incident Relay',
        app_description: 'Forwards every channel message to the on-call board.',
        app_logo: `${specServer}/logo.svg`,
      },
      key_features: ['Relays every message', 'Settings per channel'],
      settings: [
        ...spec.data.settings.map((s) => (s.label === 'Sensitivity Level' ? { ...s, default: 'low' } : s)),
        { label: 'Regions', type: 'multi-select', required: false, default: 'eu', options: ['eu', 'us', 'ap'] },
      ],
    },
  };
}

describe.skipIf(!chromiumAvailable)('the web console in a real browser', () => {
  let t: TestApp;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let specServer: LocalServer;
  let target: LocalServer;
  let targetStatus = 500;
  // How long the relay takes to answer (ms).
  let targetDelay = 0;
  let browser: Browser;
  let page: Page;
  let channelId = '';
  let webhookUrl = '';
  const foreign: string[] = [];
  let step = 0;

  const shot = async (name: string) => {
    step += 1;
    await page.screenshot({ path: path.join(ARTIFACTS, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
  };
  const post = async (message: string, username = 'ci-bot') => {
    const res = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_name: 'deploy', message, status: 'success', username }),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { data: { id: string } }).data.id;
  };
  const activeSubscriptions = async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    return [...text.matchAll(/switchboard_active_subscriptions\{[^}]*transport="websocket"[^}]*\} (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  };
  /** Wait until the deliveries table shows rows read with this status filter ('' for any), and is not reading. */
  const deliveriesRead = (filter: string) =>
    page.locator(`table.deliveries[data-status-filter="${filter}"][aria-busy="false"]`).waitFor({ state: 'attached', timeout: 15_000 });

  beforeAll(async () => {
    // Three failures in a row open a target's circuit; the cool-down outlasts the walk, so the failing output's
    // circuit stays open until the replay closes it, and the calls it held never go out in a later step.
    t = await startTestApp('sqlite', { DELIVERY_CIRCUIT_FAILURES: '3', DELIVERY_CIRCUIT_COOLDOWN_SECONDS: '3600' });
    proxy = await startProxy(t.url);
    target = await startServer((_req, res: ServerResponse) => {
      const answer = () => json(res, targetStatus, targetStatus < 300 ? { status: 'accepted' } : { error: 'board is down' });
      if (targetDelay) setTimeout(answer, targetDelay);
      else answer();
    });
    specServer = await startServer((req, res) => {
      if (req.url === '/logo.svg') {
        res.writeHead(200, { 'content-type': 'image/svg+xml' });
        return res.end(LOGO);
      }
      if (req.url === '/spec.json') return json(res, 200, consoleSpec(specServer.url, `${target.url}/relay`));
      json(res, 404, { error: 'not found' });
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('request', (r) => {
      const u = new URL(r.url());
      const ours = [new URL(proxy.url).host, new URL(specServer.url).host];
      if (/^(https?|wss?):$/.test(u.protocol) && !ours.includes(u.host)) foreign.push(r.url());
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await specServer?.close();
    await target?.close();
    await t?.close();
  });

  it('opens at / with the sign-in form, served by the gateway alone, and refuses a wrong token', async () => {
    const res = await page.goto(`${proxy.url}/`);
    expect(res?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/console/');
    await page.getByLabel('Access token').fill('sb_not_a_token_of_this_gateway_000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').innerText()).toMatch(/does not know this token/);
    expect(await unlabelled(page)).toEqual([]);
    await shot('sign-in-refused');
  });

  it('signs in with the first-start token, kept in this tab and out of the URL', async () => {
    await page.getByLabel('Access token').fill(t.token);
    await page.getByLabel('Access token').press('Enter');
    await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe('Organisations');
    expect(await page.evaluate(() => sessionStorage.getItem('switchboard.token'))).toBe(t.token);
    expect(page.url()).not.toContain(t.token);
    await expect.poll(() => page.locator('header').innerText()).toMatch(/Signed in as\s+admin/);
  });

  it('creates an organisation and a channel, and shows its webhook URL with a curl example', async () => {
    await page.getByLabel('Name', { exact: true }).fill('Acme');
    await page.getByRole('button', { name: 'Create organisation' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe('Acme');
    await page.getByLabel('Channel name').fill('alerts');
    await page.getByLabel('Description (optional)').fill('Deploys and incidents');
    await page.getByRole('button', { name: 'Create channel' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Channel #alerts created.' }).count()).toBe(1);
    expect(await unlabelled(page)).toEqual([]);
    await shot('organisation');
    await page.getByRole('link', { name: '#alerts' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe('#alerts');
    channelId = decodeURIComponent(new URL(page.url()).hash.split('/')[2]);
    const { channel } = (await t.gqlRaw(`query($id: ID!) { channel(id: $id) { webhookUrl } }`, { id: channelId })).data as { channel: { webhookUrl: string } };
    webhookUrl = channel.webhookUrl;
    expect(await page.locator('#webhook-url').innerText()).toBe(webhookUrl);
    await page.getByText('Example: post a message with curl').click();
    const curl = await page.locator('#curl-example').innerText();
    expect(curl).toContain(`curl -X POST '${webhookUrl}'`);
    expect(JSON.parse(curl.match(/-d '(.*)'/)![1])).toEqual({ event_name: 'deploy', message: 'Deployed v1.2.3 to production', status: 'success', username: 'ci-bot' });
    await expect.poll(() => page.getByRole('button', { name: 'Copy the webhook URL' }).count()).toBe(1);
    await shot('channel-webhook');
  });

  it('installs an integration from its json_url after showing what the spec declares', async () => {
    await page.getByRole('link', { name: 'Acme', exact: true }).click();
    await page.getByLabel('Spec URL (json_url)').fill(`${specServer.url}/spec.json`);
    await page.getByRole('button', { name: 'Fetch and review' }).click();
    const review = page.locator('section.review');
    await expect.poll(() => review.count(), { timeout: 15_000 }).toBe(1);
    const text = await review.innerText();
    expect(text).toMatch(/Incident Relay/);
    expect(text).toMatch(/Forwards every channel message to the on-call board\./);
    expect(text).toMatch(/Relays every message/);
    expect(text).toMatch(/Communication & Collaboration/);
    expect(text).toMatch(/output/);
    expect(text).toMatch(/"low" is read as the option "Low"/);
    expect(text).toMatch(/Signing secret/);
    await expect.poll(() => review.locator('img.logo').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(48);
    await shot('install-review');
    await page.getByRole('button', { name: 'Keep Incident Relay' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe('Incident Relay');
  });

  it('fills every kind of setting at organisation level, and shows a refused value at its field', async () => {
    const form = page.locator('form.settings');
    await form.getByLabel('Key').fill('acme-key-2');
    await form.getByLabel('Provide Speed').fill('250');
    await form.getByLabel('Do you want to continue').uncheck();
    await form.getByRole('radio', { name: 'Male', exact: true }).check();
    await form.getByLabel('Sensitivity Level').selectOption('High');
    await form.getByRole('checkbox', { name: 'Manager' }).check();
    await form.getByLabel('Regions').selectOption(['us', 'ap']);
    expect(await unlabelled(page)).toEqual([]);
    await form.getByRole('button', { name: 'Save settings' }).click();
    await expect.poll(() => form.getByRole('status').innerText()).toMatch(/7 settings saved/);
    const inForce = (label: string) => form.locator(`[data-setting="${label}"] .in-force`).innerText();
    expect(await inForce('Key')).toMatch(/In force: acme-key-2\s+from organisation/);
    expect(await inForce('Provide Speed')).toMatch(/In force: 250\s+from organisation/);
    expect(await inForce('Do you want to continue')).toMatch(/In force: No\s+from organisation/);
    expect(await inForce('Gender')).toMatch(/In force: Male/);
    expect(await inForce('Sensitivity Level')).toMatch(/In force: High/);
    expect(await inForce('Alert Admin')).toMatch(/In force: Super-Admin, Manager/);
    expect(await inForce('Regions')).toMatch(/In force: us, ap/);
    // What the gateway stored, typed by the spec.
    const integrationId = decodeURIComponent(new URL(page.url()).hash.split('/')[4]);
    const stored = (await t.gqlRaw(`query($id: ID!) { integration(id: $id) { effectiveSettings { label value source } } }`, { id: integrationId })).data as {
      integration: { effectiveSettings: { label: string; value: unknown; source: string }[] };
    };
    expect(Object.fromEntries(stored.integration.effectiveSettings.map((s) => [s.label, [s.value, s.source]]))).toEqual({
      Gender: ['Male', 'ORGANISATION'],
      Key: ['acme-key-2', 'ORGANISATION'],
      'Do you want to continue': [false, 'ORGANISATION'],
      'Provide Speed': [250, 'ORGANISATION'],
      'Sensitivity Level': ['High', 'ORGANISATION'],
      'Alert Admin': [['Super-Admin', 'Manager'], 'ORGANISATION'],
      Regions: [['us', 'ap'], 'ORGANISATION'],
    });

    // A required setting emptied: the gateway refuses it, and the message sits at that field.
    await form.getByLabel('Key').fill('');
    await form.getByRole('button', { name: 'Save settings' }).click();
    const error = form.locator('[data-setting="Key"] .field-error');
    await expect.poll(() => error.innerText()).toBe('"Key" is required');
    expect(await form.getByLabel('Key').getAttribute('aria-invalid')).toBe('true');
    expect(await inForce('Key')).toMatch(/In force: acme-key-2/);
    await shot('settings-refused');
  });

  it('switches the integration on for the channel and sets a channel-level value', async () => {
    await page.getByRole('switch', { name: 'On in #alerts' }).check();
    await expect.poll(() => page.getByRole('status').filter({ hasText: '#alerts: Switched on.' }).count()).toBe(1);
    await page.getByRole('link', { name: 'channel settings' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Integrations in this channel' }).count()).toBe(1);
    await page.getByText('Settings in this channel').click();
    const form = page.locator('form.settings');
    await form.getByLabel('Key').fill('alerts-key');
    await form.getByRole('button', { name: 'Save settings' }).click();
    await expect.poll(() => form.locator('[data-setting="Key"] .in-force').innerText()).toMatch(/In force: alerts-key\s+from this channel/);
    expect(await form.locator('[data-setting="Provide Speed"] .in-force').innerText()).toMatch(/In force: 250\s+from organisation/);
    await shot('channel-integrations');
  });

  it('shows messages live as they are posted to the webhook, with Rocket.Chat attachments', { timeout: 90_000 }, async () => {
    const before = await activeSubscriptions();
    await page.getByRole('link', { name: 'Messages' }).click();
    await expect.poll(() => page.locator('.live').getAttribute('data-state'), { timeout: 20_000 }).toBe('live');
    await expect.poll(activeSubscriptions, { timeout: 20_000 }).toBeGreaterThan(before);
    const id = await post('Deployed v1.2.3 to production');
    await expect.poll(() => page.locator(`[data-message-id="${id}"]`).innerText(), { timeout: 15_000 }).toMatch(/Deployed v1\.2\.3 to production/);
    expect(await page.locator(`[data-message-id="${id}"]`).innerText()).toMatch(/ci-bot/);

    // A Rocket.Chat incoming hook posting attachments: title link, colour bar, fields.
    const viewer = (await t.gqlRaw('{ viewer { id } organisations { id } }')).data as { viewer: { id: string }; organisations: { id: string }[] };
    const created = await fetch(`${t.url}/api/v1/integrations.create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': t.token, 'x-user-id': viewer.viewer.id },
      body: JSON.stringify({ type: 'webhook-incoming', username: 'grafana', channel: '#alerts', scriptEnabled: false, name: 'Grafana', enabled: true }),
    });
    const { integration } = (await created.json()) as { integration: { _id: string; token: string } };
    const hook = await fetch(`${t.url}/hooks/${integration._id}/${integration.token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        text: 'Alert firing',
        attachments: [{ title: 'CPU above 90%', title_link: 'https://grafana.example.com/d/cpu', text: 'web-1 has been hot for 5 minutes', color: '#d00000', fields: [{ title: 'Host', value: 'web-1', short: true }] }],
      }),
    });
    expect(hook.status).toBe(200);
    const attachment = page.locator('.attachment').filter({ hasText: 'CPU above 90%' });
    await expect.poll(() => attachment.count(), { timeout: 15_000 }).toBe(1);
    expect(await attachment.getByRole('link', { name: 'CPU above 90%' }).getAttribute('href')).toBe('https://grafana.example.com/d/cpu');
    expect(await attachment.innerText()).toMatch(/Host\s+web-1/);
    expect(await attachment.evaluate((el) => getComputedStyle(el).borderLeftColor)).toBe('rgb(208, 0, 0)');

    // Sending from the console takes the same path.
    await page.getByLabel('Message', { exact: true }).fill('Looking into it');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await expect.poll(() => page.locator('.message').filter({ hasText: 'Looking into it' }).count(), { timeout: 15_000 }).toBe(1);
    await shot('live-channel');
  });

  it('resumes after the connection drops: the missed messages once each, none lost', { timeout: 90_000 }, async () => {
    const before = await page.locator('.message').count();
    proxy.cut();
    await expect.poll(() => page.locator('.live').getAttribute('data-state'), { timeout: 15_000 }).not.toBe('live');
    const missed = [await post('Missed while offline 1'), await post('Missed while offline 2')];
    proxy.restore();
    await expect.poll(() => page.locator('.live').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');
    for (const id of missed) await expect.poll(() => page.locator(`[data-message-id="${id}"]`).count(), { timeout: 15_000 }).toBe(1);
    const after = await post('Back online');
    await expect.poll(() => page.locator(`[data-message-id="${after}"]`).count(), { timeout: 15_000 }).toBe(1);
    expect(await page.locator('.message').count()).toBe(before + 3);
    const ids = await page.locator('.message').evaluateAll((els) => els.map((el) => el.getAttribute('data-message-id')));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    // The gateway placed the resume point exactly (recovered: true), so the page raises no gap warning.
    expect(await page.getByText('Some messages may be missing').count()).toBe(0);
    await shot('resumed');
  });

  it("shows the failing output's delivery, and replays it once the endpoint is fixed", { timeout: 90_000 }, async () => {
    await page.getByRole('link', { name: 'Deliveries' }).click();
    // A failed attempt, once the worker has recorded it and the view has read it (the view reads again every 5 s).
    const failing = page.locator('tr[data-status="retried"]').first();
    await failing.waitFor({ state: 'visible', timeout: 20_000 });
    const failedId = (await failing.getAttribute('data-delivery-id'))!;
    const failed = page.locator(`tr[data-delivery-id="${failedId}"]`);
    const row = await failed.innerText();
    expect(row).toMatch(/Incident Relay/);
    expect(row).toMatch(/500/);
    expect(row).toMatch(/\d+ ms/);
    expect(row).toMatch(/[0-9a-f-]{36}/);

    // Its endpoint's health: the failures in a row opened the circuit, and an admin may close it.
    const health = page.locator('[data-health-for="Incident Relay"]');
    await expect.poll(() => health.getAttribute('data-health-state'), { timeout: 20_000 }).toBe('OPEN');
    const shown = await health.innerText();
    expect(shown).toMatch(/Circuit open/);
    expect(Number(shown.match(/(\d+) of \d+ calls? failed in the last 24 hours/)?.[1])).toBeGreaterThanOrEqual(3);
    expect(shown).toMatch(/Last error\s+HTTP 500/);
    expect(await health.getByRole('button', { name: 'Re-enable Incident Relay' }).count()).toBe(1);
    await page.getByLabel('Integration', { exact: true }).selectOption({ label: 'Incident Relay' });
    await page.getByLabel('Status').selectOption('retried');
    await deliveriesRead('retried');
    expect(await page.locator('tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('tbody tr:not([data-status="retried"])').count()).toBe(0);
    expect(await unlabelled(page)).toEqual([]);
    await shot('delivery-failed');

    targetStatus = 202;
    await page.getByLabel('Status').selectOption('');
    await deliveriesRead('');
    // Click only once the failed row is shown again, with its status, and its Replay button can be used.
    await failed.waitFor({ state: 'visible' });
    expect(await failed.getAttribute('data-status')).toBe('retried');
    expect(await failed.locator('.badge').innerText()).toBe('retried');
    const replay = failed.getByRole('button', { name: /^Replay/ });
    await expect.poll(() => replay.isEnabled()).toBe(true);
    await replay.click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: /Sent again as attempt \d+\./ }).count()).toBe(1);
    const replayed = page.locator(`tr[data-replay-of="${failedId}"]`);
    await expect.poll(() => replayed.getAttribute('data-status'), { timeout: 30_000 }).toBe('succeeded');
    expect(await replayed.innerText()).toMatch(/202/);
    expect(await replayed.innerText()).toMatch(/replay/);
    // The replay's success closed the circuit.
    await expect.poll(() => health.getAttribute('data-health-state'), { timeout: 30_000 }).toBe('CLOSED');
    expect(await health.innerText()).toMatch(/Circuit closed/);
    expect(await health.getByRole('button', { name: /^Re-enable/ }).count()).toBe(0);
    await shot('delivery-replayed');
  });

  it('shows new attempts and circuit changes live, over the socket, without reading the deliveries again', { timeout: 60_000 }, async () => {
    await expect.poll(() => page.locator('.live').getAttribute('data-state'), { timeout: 20_000 }).toBe('live');
    const health = page.locator('[data-health-for="Incident Relay"]');
    // From here the page cannot read the deliveries over HTTP: what it shows next came through deliveryEvents.
    const reads: string[] = [];
    await page.route('**/graphql', (route) => {
      if (!route.request().postData()?.includes('query ConsoleDeliveries(')) return route.continue();
      reads.push(route.request().url());
      return route.abort();
    });
    try {
      const delivered = await post('Deployed v1.2.4 to production');
      await expect.poll(() => page.locator(`tr[data-message-id="${delivered}"]`).getAttribute('data-status'), { timeout: 15_000 }).toBe('succeeded');

      // Three failures in a row open the circuit again: the failed rows and the open circuit arrive as events.
      targetStatus = 500;
      const failing = [await post('Relay down 1'), await post('Relay down 2'), await post('Relay down 3')];
      for (const id of failing) await expect.poll(() => page.locator(`tr[data-message-id="${id}"]`).getAttribute('data-status'), { timeout: 15_000 }).toBe('retried');
      await expect.poll(() => health.getAttribute('data-health-state'), { timeout: 15_000 }).toBe('OPEN');
      expect(reads).toEqual([]);
      await shot('deliveries-live');
    } finally {
      await page.unroute('**/graphql');
    }

    // An admin closes the circuit by hand; the calls it held wait for their time (after this walk).
    targetStatus = 202;
    await health.getByRole('button', { name: 'Re-enable Incident Relay' }).click();
    await expect.poll(() => health.getAttribute('data-health-state')).toBe('CLOSED');
    // The circuit's change can arrive over the socket before the mutation's answer shows its notice.
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Incident Relay: re-enabled' }).count()).toBe(1);
  });

  it('recovers the calls that failed for good since a time', { timeout: 90_000 }, async () => {
    // A 410 ends a call at once (and switches the output off for the channel, as Telex's outputs are).
    targetStatus = 410;
    await post('Relay is gone for a moment');
    const gone = page.locator('tr[data-status="failed"]').filter({ hasText: '410' }).first();
    await expect.poll(() => gone.count(), { timeout: 20_000 }).toBe(1);
    const goneId = (await gone.getAttribute('data-delivery-id'))!;
    targetStatus = 202;
    // The read that follows the recovery sees the replay still pending (the relay takes 1 s to answer) and answers
    // late, after the replay's success came as an event: what it read must not hide what the event told.
    targetDelay = 1_000;
    await page.route('**/graphql', async (route) => {
      if (!route.request().postData()?.includes('query ConsoleDeliveries(')) return route.continue();
      const response = await route.fetch();
      await new Promise((done) => setTimeout(done, 2_500));
      await route.fulfill({ response });
    });
    try {
      await page.getByLabel('Integration to recover').selectOption({ label: 'Incident Relay' });
      await page.getByRole('button', { name: 'Send failed calls again' }).click();
      await expect.poll(() => page.getByRole('status').filter({ hasText: /^\d+ failed calls? sent again\.$/ }).count(), { timeout: 15_000 }).toBe(1);
    } finally {
      await page.unroute('**/graphql');
      targetDelay = 0;
    }
    const recovered = page.locator(`tr[data-replay-of="${goneId}"]`);
    await expect.poll(() => recovered.getAttribute('data-status'), { timeout: 30_000 }).toBe('succeeded');
    expect(target.requests.filter((r) => (r.json as { message?: string } | undefined)?.message === 'Relay is gone for a moment').length).toBe(2);
    await shot('deliveries-recovered');
  });

  it('leaves GraphiQL at /graphql, opening with example operations and where the token goes', { timeout: 90_000 }, async () => {
    const fresh = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const graphiql = await fresh.newPage();
      await graphiql.goto(`${proxy.url}/graphql`);
      const editor = graphiql.locator('.graphiql-query-editor .view-lines').first();
      // Monaco draws spaces as no-break spaces.
      const shown = async () => (await editor.innerText()).replace(/[\s\u00a0]+/g, ' ');
      await expect.poll(shown, { timeout: 60_000 }).toMatch(/the Headers tab below/);
      const text = await shown();
      expect(text).toMatch(/"Authorization": "Bearer <your token>"/);
      expect(text).toMatch(/query Me \{/);
      await graphiql.screenshot({ path: path.join(ARTIFACTS, 'graphiql-first-visit.png') });
    } finally {
      await fresh.close();
    }
  });

  it('brings the sign-in back when the token in use is revoked', { timeout: 60_000 }, async () => {
    const issued = (await t.gqlRaw(`mutation { createAccessToken(input: { name: "console" }) { ... on MutationCreateAccessTokenSuccess { data { token accessToken { id } } } } }`))
      .data as { createAccessToken: { data: { token: string; accessToken: { id: string } } } };
    const { token, accessToken } = issued.createAccessToken.data;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const other = await context.newPage();
      await other.goto(`${proxy.url}/console/#/c/${channelId}/messages`);
      await other.getByLabel('Access token').fill(token);
      await other.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => other.locator('.live').getAttribute('data-state'), { timeout: 20_000 }).toBe('live');
      const revoked = await t.gqlRaw(`mutation($id: ID!) { revokeAccessToken(input: { id: $id }) { __typename } }`, { id: accessToken.id }, token);
      expect(revoked.errors).toBeUndefined();
      await expect.poll(() => other.getByRole('heading', { level: 1 }).innerText(), { timeout: 20_000 }).toBe('Sign in to Switchboard');
      expect(await other.getByRole('alert').innerText()).toMatch(/no longer accepted/);
      expect(await other.evaluate(() => sessionStorage.getItem('switchboard.token'))).toBeNull();
    } finally {
      await context.close();
    }
  });

  it('fits a phone-width window and reached no other host', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const view of ['messages', 'integrations', 'deliveries']) {
      await page.goto(`${proxy.url}/console/#/c/${channelId}/${view}`);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe('#alerts');
      await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await shot(`phone-${view}`);
    }
    expect(foreign).toEqual([]);
  });
});
