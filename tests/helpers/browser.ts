import fs from 'node:fs/promises';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { REPO_ROOT } from './haul-server.js';

/** Screenshots of the demo's main states: CI artifacts (gitignored), one copied into docs/. */
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-artifacts/screenshots');

/**
 * Debian's Chromium (scripts/local-chromium.sh installs it; `npm test` exports its path).
 * Flags from the recipe: no sandbox (root in CI), no GPU, no background traffic to Google.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.TEST_CHROMIUM_PATH || '/usr/bin/chromium';
  try {
    await fs.access(executablePath);
  } catch {
    throw new Error(`Chromium not found at ${executablePath}: run scripts/local-chromium.sh ensure (npm test does)`);
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

export async function newDemoContext(browser: Browser, baseURL: string, viewport = { width: 1280, height: 860 }): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL, viewport, acceptDownloads: true });
  context.setDefaultTimeout(30_000);
  return context;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await fs.mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Slows this page's uploads to `bytesPerSecond` through the DevTools protocol (what the
 * browser's own network throttling does), so a local upload lasts long enough to pause.
 * Throughput -1: no limit.
 */
export async function throttleUploads(page: Page, bytesPerSecond: number): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: bytesPerSecond < 0 ? 0 : 20,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond,
  });
}

/**
 * The little of the page's DOM the tests read inside `page.evaluate` (tests compile without the
 * DOM library, whose `fetch` and `Headers` types would clash with Node's).
 */
export interface PageGlobals {
  document: { activeElement: unknown; documentElement: { scrollWidth: number } };
}
