/** What the console's browser walks share: where Chromium is, how it is started, and the labelling check. */
import { existsSync } from 'node:fs';
import { chromium, type Page } from 'playwright-core';

/** Debian's package (playwright-core downloads no browser); CHROMIUM_PATH names another. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether the walks can run here (CI installs Chromium, so there a missing one fails instead of skipping). */
export const chromiumAvailable = existsSync(CHROMIUM) || !!process.env.CI;

export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** The form controls of the page that a screen reader could not name (no label, aria-label, or text of its own). */
export function unlabelled(page: Page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => {
        const e = el as HTMLInputElement;
        if (e.type === 'hidden') return false;
        const named = (e.labels?.length ?? 0) > 0 || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby');
        return !named && !(el.tagName === 'BUTTON' && el.textContent?.trim());
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
}
