import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchChromium, newDemoContext } from './browser.js';
import { type HaulServer, processingEnv, REPO_ROOT, startHaul } from './haul-server.js';

/** The built demo (npm run build); the server serves it from here by default. */
const DEMO_INDEX = path.join(REPO_ROOT, 'demo-app/dist/index.html');

/** The server as `npm start` runs it, plus the processing pipeline scanning with our clamd. */
export function startDemoServer(env: Record<string, string> = {}): Promise<HaulServer> {
  if (!fs.existsSync(DEMO_INDEX)) throw new Error(`${DEMO_INDEX} is missing: run \`npm run build\` (npm test does)`);
  return startHaul({ env: processingEnv(env) });
}

export interface DemoSession {
  server: HaulServer;
  browser: Browser;
  /** A page of the demo, not yet signed in. */
  page: Page;
  /** Another visitor: a page of the demo in a browser context of its own, not yet signed in. */
  newPage(): Promise<Page>;
  /** Closes the browser and stops the server. */
  close(): Promise<void>;
}

/** The demo server and Chromium, started side by side, with a page on the demo. */
export async function openDemo(): Promise<DemoSession> {
  const [server, browser] = await Promise.all([startDemoServer(), launchChromium()]);
  const newPage = async () => (await newDemoContext(browser, server.url)).newPage();
  return {
    server,
    browser,
    page: await newPage(),
    newPage,
    async close() {
      await browser.close();
      await server.stop();
    },
  };
}

/** Signs in on the demo's form as `user`, a member of `conversations` (comma-separated) if given. */
export async function signIn(page: Page, user: string, conversations?: string): Promise<void> {
  await page.goto('/');
  await page.getByTestId('signin-user').fill(user);
  if (conversations !== undefined) await page.getByTestId('signin-conversations').fill(conversations);
  await page.getByTestId('signin-user').press('Enter');
  await expect.poll(() => page.getByTestId('signed-in-user').textContent()).toContain(user);
}

/** Picks files through the demo's own file input and starts the upload with Uppy's button. */
export async function uploadFiles(page: Page, files: string[]): Promise<void> {
  await page.getByTestId('file-input').setInputFiles(files);
  await page.locator('button.uppy-StatusBar-actionBtn--upload').click();
}

export const galleryItem = (page: Page, filename: string): Locator =>
  page.getByTestId('gallery-item').filter({ has: page.locator('h3', { hasText: filename }) });

/** Waits until the card of `filename` shows `badge` (the demo's status word). */
export async function waitForBadge(page: Page, filename: string, badge: string, timeout = 60_000): Promise<Locator> {
  const item = galleryItem(page, filename);
  await item.getByTestId('status-badge').filter({ hasText: new RegExp(`^\\s*${badge}\\s*$`) }).waitFor({ timeout });
  return item;
}
