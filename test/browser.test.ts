/**
 * The GraphiQL playground in a real headless Chromium (Debian's package, driven by playwright-core):
 * a newcomer opens /graphql, reads the schema docs, runs a query with a bearer token, and watches a live
 * channelMessages subscription receive a message posted to the channel's webhook. The screenshot of the
 * live subscription is kept under test-artifacts/ (not committed).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { createChannel, createOrg } from './support/seed.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../test-artifacts');

/** Replace the text of the Monaco editor inside `section` (typed as a paste: no auto-closed brackets). */
async function setEditor(page: Page, section: string, text: string) {
  const editor = page.locator(`${section} .monaco-editor`).first();
  const shown = async () => (await editor.locator('.view-lines').innerText()).replace(/[\s\u00a0]+/g, '');
  for (let attempt = 0; attempt < 3; attempt++) {
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(text);
    try {
      await expect.poll(shown, { timeout: 3_000 }).toBe(text.replace(/\s+/g, ''));
      return;
    } catch {
      // the editor was not focused yet: try again
    }
  }
  throw new Error(`could not type into ${section}`);
}

/** The text of the result pane as shown, whitespace collapsed (Monaco wraps long lines, renders no-break spaces). */
async function resultText(page: Page) {
  return (await page.locator('.result-window').innerText()).replace(/[\s\u00a0]+/g, ' ');
}

/**
 * Run the query in the editor until the result pane matches. On a loaded machine a click that lands while
 * GraphiQL is still settling (its schema fetch, the editor's last change) can start nothing, and the pane stays
 * empty; a query is safe to run again, so an empty pane after a while earns another click.
 */
async function runQueryUntil(page: Page, expected: RegExp) {
  for (let attempt = 0; attempt < 3; attempt++) {
    await page.getByRole('button', { name: 'Execute query (Ctrl-Enter)' }).click();
    try {
      await expect.poll(() => resultText(page), { timeout: 8_000 }).toMatch(expected);
      return;
    } catch (error) {
      if ((await resultText(page)).trim() !== '' || attempt === 2) {
        await page.screenshot({ path: path.join(ARTIFACTS, 'graphiql-query-failed.png') });
        throw error;
      }
    }
  }
}

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('GraphiQL in a real browser', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let channelId: string;
  let webhookUrl: string;

  beforeAll(async () => {
    t = await startTestApp('sqlite');
    const org = await createOrg(t, 'Playground');
    const channel = await createChannel(t, org, 'newcomers');
    channelId = channel.id;
    webhookUrl = channel.webhookUrl;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('loads the playground without reaching any other host', async () => {
    const foreign: string[] = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if ((u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'ws:') && u.host !== new URL(t.url).host) foreign.push(r.url());
    });
    const res = await page.goto(`${t.url}/graphql`);
    expect(res?.status()).toBe(200);
    await expect.poll(() => page.locator('.graphiql-query-editor .monaco-editor').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(foreign).toEqual([]);
  });

  it('shows the schema docs', async () => {
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    const docs = page.locator('.graphiql-doc-explorer');
    await expect.poll(() => docs.innerText(), { timeout: 15_000 }).toMatch(/Query/);
    await expect.poll(() => docs.innerText()).toMatch(/Subscription/);
    await docs.getByText('Subscription', { exact: true }).click();
    await expect.poll(() => docs.innerText(), { timeout: 10_000 }).toMatch(/channelMessages/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'graphiql-docs.png') });
  });

  // Typing and up to three runs on a loaded machine: room beyond the default 30 s.
  it('runs a query with a bearer token typed into the Headers tab', { timeout: 60_000 }, async () => {
    await page.getByRole('button', { name: 'Headers', exact: true }).click();
    await setEditor(page, '.graphiql-editor-tool .graphiql-editor:not(.hidden)', JSON.stringify({ Authorization: `Bearer ${t.token}` }));
    // Anonymous on purpose: GraphiQL remembers an operation name for a moment after the editor changes, and
    // would ask for "Mine" in the subscription typed next ("Cannot infer operation").
    await setEditor(page, '.graphiql-query-editor', `{ organisations { id name } channel(id: "${channelId}") { id name webhookUrl } }`);
    await runQueryUntil(page, /"name": "newcomers"/);
    const text = await resultText(page);
    expect(text).toMatch(/"name": "Playground"/);
    expect(text).not.toMatch(/UNAUTHENTICATED/);
  });

  // Its own waits add up to 45 s; give them room so a failure reports which step it was.
  it('shows a live channelMessages subscription receiving a message posted to the webhook', { timeout: 60_000 }, async () => {
    await setEditor(page, '.graphiql-query-editor', `subscription Live { channelMessages(channelId: "${channelId}") { id message username eventName } }`);
    await page.getByRole('button', { name: 'Execute query (Ctrl-Enter)' }).click();
    // The subscription is live once the server counts it.
    try {
      await expect
        .poll(async () => /switchboard_active_subscriptions\{[^}]*\} [1-9]/.test(await (await fetch(`${t.url}/metrics`)).text()), { timeout: 30_000 })
        .toBe(true);
    } catch (error) {
      await page.screenshot({ path: path.join(ARTIFACTS, 'graphiql-subscription-failed.png') });
      throw new Error(`the subscription did not start; the result pane shows: ${await resultText(page)}`, { cause: error });
    }
    const res = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        channel_id: channelId,
        webhook_slug: 'playground',
        action_type: 'notify',
        status_code: 200,
        event_name: 'deploy',
        username: 'ci-bot',
        status: 'success',
        message: 'Deployed v1.2.3 to production',
        user_id: 'u1',
        org_id: 'o1',
      }),
    });
    expect(res.status).toBe(202);
    const { data } = (await res.json()) as { data: { id: string } };
    await expect.poll(() => resultText(page), { timeout: 15_000 }).toMatch(/Deployed v1\.2\.3 to production/);
    const text = await resultText(page);
    expect(text).toContain(data.id);
    expect(text).toMatch(/"username": "ci-bot"/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'graphiql-live-subscription.png') });
    expect(existsSync(path.join(ARTIFACTS, 'graphiql-live-subscription.png'))).toBe(true);
  });
});
