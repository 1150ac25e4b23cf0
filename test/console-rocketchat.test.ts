/**
 * The console's Rocket.Chat integrations page in a real headless Chromium (Debian's package, driven by
 * playwright-core), a short walk of its own beside test/console.test.ts: create an incoming integration and see its
 * hook URL once, with a curl that posts; edit its script, see a script that does not compile refused at the field,
 * and see the fixed one run; create an outgoing integration to a local server that fails, see the failed run in its
 * history and its URL's health, fix the server and replay the run. Screenshots go to test-artifacts/console-rocketchat/
 * (not committed).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { chromiumAvailable, launchChromium, unlabelled } from './support/console-page.js';
import { json, startServer, type LocalServer } from './support/http-server.js';
import { createChannel, createOrg } from './support/seed.js';

const ARTIFACTS = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../test-artifacts/console-rocketchat');

describe.skipIf(!chromiumAvailable)('Rocket.Chat integrations in the web console', () => {
  let t: TestApp;
  let receiver: LocalServer;
  let receiverStatus = 500;
  let browser: Browser;
  let page: Page;
  let orgId = '';
  let channelId = '';
  let hookUrl = '';
  let step = 0;

  const shot = async (name: string) => {
    step += 1;
    await page.screenshot({ path: path.join(ARTIFACTS, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
  };
  const heading = () => page.getByRole('heading', { level: 1 }).innerText();
  const messages = async () => {
    const r = await t.gqlRaw(`query($id: ID!) { messages(channelId: $id, last: 20) { edges { node { message username } } } }`, { id: channelId });
    return (r.data as { messages: { edges: { node: { message: string; username: string } }[] } }).messages.edges.map((e) => e.node);
  };

  beforeAll(async () => {
    t = await startTestApp('sqlite');
    orgId = await createOrg(t, 'Acme');
    channelId = (await createChannel(t, orgId, 'alerts')).id;
    receiver = await startServer((_req, res) => json(res, receiverStatus, receiverStatus < 300 ? {} : { error: 'down' }));
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.goto(`${t.url}/console/#/o/${orgId}`);
    await page.getByLabel('Access token').fill(t.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Acme' }).waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await t?.close();
  });

  it('creates an incoming integration and shows its hook URL once, with a curl that posts to the channel', async () => {
    await page.getByRole('navigation', { name: 'Organisation views' }).getByRole('link', { name: 'Rocket.Chat integrations' }).click();
    await expect.poll(heading).toBe('Rocket.Chat integrations');
    expect(await page.getByRole('list', { name: 'Rocket.Chat integrations' }).innerText()).toMatch(/No Rocket.Chat integration yet/);
    const form = page.getByRole('form', { name: 'New incoming integration' });
    await form.getByLabel('Name').fill('Grafana');
    await form.getByLabel('Post as').fill('grafana');
    await form.getByLabel('Channel').selectOption('#alerts');
    await form.getByRole('button', { name: 'Create incoming integration' }).click();

    hookUrl = await page.locator('#hook-url').innerText();
    expect(hookUrl).toMatch(new RegExp(`^${t.url}/hooks/[0-9a-f-]{36}/\\S+$`));
    expect(await page.getByRole('button', { name: 'Copy the hook URL' }).count()).toBe(1);
    const curl = await page.locator('#hook-curl').innerText();
    expect(curl).toContain(`curl -X POST '${hookUrl}'`);
    const body = JSON.parse(curl.match(/-d '(.*)'/)![1]) as { text: string };
    const posted = await fetch(hookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(posted.status).toBe(200);
    expect(await messages()).toContainEqual({ message: body.text, username: 'grafana' });
    expect(await page.locator('[data-webhook-integration="Grafana"]').innerText()).toMatch(/incoming\s+enabled/);
    expect(await unlabelled(page)).toEqual([]);
    await shot('incoming-created');

    // Its page says where the URL went: it is not shown again.
    await page.getByRole('link', { name: 'Open Grafana' }).click();
    await expect.poll(heading).toBe('Grafana');
    expect(await page.locator('body').innerText()).not.toContain(hookUrl.split('/').pop()!);
  });

  it("refuses a script that does not compile at the field, and runs the fixed one", async () => {
    const script = page.getByLabel('Script', { exact: true });
    await script.fill('class Script { process_incoming_request({ request }) { return { content: { text: ');
    await page.getByLabel('Run the script').check();
    await page.getByRole('button', { name: 'Save changes' }).click();
    const error = page.locator('#rc-script-error');
    await expect.poll(() => error.innerText()).toMatch(/SyntaxError/);
    expect(await script.getAttribute('aria-invalid')).toBe('true');
    expect(await script.getAttribute('aria-describedby')).toContain('rc-script-error');
    await shot('script-refused');

    await script.fill("class Script { process_incoming_request({ request }) { return { content: { text: 'via script: ' + request.content.text } }; } }");
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Saved.' }).count()).toBe(1);
    expect(await page.locator('#rc-script-error').count()).toBe(0);
    const stored = await t.gqlRaw(`query($org: ID!) { organisation(id: $org) { webhookIntegrations { edges { node { name scriptEnabled script } } } } }`, { org: orgId });
    expect((stored.data as { organisation: { webhookIntegrations: { edges: { node: { scriptEnabled: boolean; script: string } }[] } } }).organisation.webhookIntegrations.edges[0].node).toMatchObject({
      scriptEnabled: true,
      script: expect.stringContaining("'via script: '"),
    });
    const posted = await fetch(hookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'disk full' }) });
    expect(posted.status).toBe(200);
    expect(await messages()).toContainEqual({ message: 'via script: disk full', username: 'grafana' });
  });

  it('creates an outgoing integration, shows its failed call and its URL health, and replays it once the endpoint is fixed', { timeout: 60_000 }, async () => {
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Rocket.Chat integrations' }).click();
    await expect.poll(heading).toBe('Rocket.Chat integrations');
    const form = page.getByRole('form', { name: 'New outgoing integration' });
    await form.getByLabel('Name').fill('Relay');
    await form.getByLabel('Channel to watch').selectOption('#alerts');
    await form.getByLabel('URLs').fill(`${receiver.url}/hook`);
    await form.getByLabel('Post replies as').fill('relay');
    await form.getByLabel('Try failed calls again').uncheck();
    await form.getByRole('button', { name: 'Create outgoing integration' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Relay created.' }).count()).toBe(1);
    await page.getByRole('link', { name: 'Relay', exact: true }).click();
    await expect.poll(heading).toBe('Relay');

    // A message in the watched channel: the call fails (500), and the run says so once it is recorded.
    const sent = await fetch(`${t.url}/v1/webhooks/${channelId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_name: 'deploy', message: 'Deployed v1.2.4', status: 'success', username: 'ci-bot' }),
    });
    expect(sent.status).toBe(202);
    const failed = page.locator('tr[data-outcome="failed"]').first();
    await failed.waitFor({ state: 'visible', timeout: 20_000 });
    const runId = (await failed.getAttribute('data-run-id'))!;
    expect(await failed.innerText()).toMatch(/500/);
    const health = page.locator(`[data-health-for="${receiver.url}/hook"]`);
    await expect.poll(() => health.innerText()).toMatch(/1 of 1 call failed in the last 24 hours/);
    expect(await health.innerText()).toMatch(/Last error\s+HTTP 500/);
    expect(await unlabelled(page)).toEqual([]);
    await shot('outgoing-failed');

    receiverStatus = 200;
    const replay = page.locator(`tr[data-run-id="${runId}"]`).getByRole('button', { name: /^Replay/ });
    await expect.poll(() => replay.isEnabled()).toBe(true);
    await replay.click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: /Sent again as attempt \d+\./ }).count()).toBe(1);
    const replayed = page.locator(`tr[data-replay-of="${runId}"]`);
    await expect.poll(() => replayed.getAttribute('data-outcome'), { timeout: 20_000 }).toBe('ok');
    expect(await replayed.innerText()).toMatch(/200/);
    expect(receiver.requests.length).toBe(2);
    await shot('outgoing-replayed');
  });

  it('fits a phone-width window', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${t.url}/console/#/o/${orgId}/rc`);
    await expect.poll(heading).toBe('Rocket.Chat integrations');
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot('phone-list');
    await page.getByRole('link', { name: 'Relay', exact: true }).click();
    await expect.poll(heading).toBe('Relay');
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot('phone-integration');
  });
});
