import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { BENCH_DIR, BENCH_DIST } from './paths.js';

/**
 * The SDK's browser build in Chromium, for benchmarks: bench/browser/sdk-page.ts bundled with
 * Vite (IIFE) and injected into a page of the server under test (same origin, as an app's page
 * would be), then driven with page.evaluate.
 */

export interface BrowserSdk {
  upload(options: { endpoint: string; token: string; sizeMiB: number; mode: 'plain' | 'encrypted' }): Promise<{ ms: number; url: string; heapMiB: number | null }>;
  close(): Promise<void>;
}

export const chromiumPath = (): string | undefined => {
  const candidate = process.env.BENCH_CHROMIUM_PATH || process.env.TEST_CHROMIUM_PATH || '/usr/bin/chromium';
  return fs.existsSync(candidate) ? candidate : undefined;
};

async function bundle(): Promise<string> {
  const outDir = path.join(BENCH_DIST, 'browser');
  const { build } = await import('vite');
  await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: true,
      minify: false,
      lib: { entry: path.join(BENCH_DIR, 'browser', 'sdk-page.ts'), formats: ['iife'], name: 'HaulBench', fileName: () => 'sdk-page.js' },
    },
  });
  return path.join(outDir, 'sdk-page.js');
}

export async function startBrowserSdk(origin: string, executablePath: string): Promise<BrowserSdk> {
  const script = await bundle();
  const browser: Browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--enable-precise-memory-info', '--no-first-run'],
  });
  let page: Page;
  try {
    page = await browser.newPage();
    await page.goto(`${origin}/healthz`);
    await page.addScriptTag({ path: script });
  } catch (error) {
    await browser.close();
    throw error;
  }
  return {
    upload: (options) =>
      page.evaluate((o) => (globalThis as unknown as { HaulBench: { upload(x: typeof o): Promise<{ ms: number; url: string; heapMiB: number | null }> } }).HaulBench.upload(o), options),
    close: () => browser.close(),
  };
}
