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
  /** One upload; `rendererPeakRssMiB`: the page's renderer process RSS, sampled every 25 ms during it (null off Linux). */
  upload(options: { endpoint: string; token: string; sizeMiB: number; mode: 'plain' | 'encrypted' }): Promise<{ ms: number; url: string; heapMiB: number | null; rendererPeakRssMiB: number | null }>;
  close(): Promise<void>;
}

/** A process's resident set (VmRSS), KiB; null where /proc has none. */
function rssKiB(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
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
  // The renderer processes (the page's, where the SDK, its buffers and WebCrypto's copies live).
  const cdp = await browser.newBrowserCDPSession();
  const { processInfo } = (await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: Array<{ type: string; id: number }> };
  const renderers = processInfo.filter((p) => p.type === 'renderer').map((p) => p.id);
  return {
    async upload(options) {
      let peak: number | null = null;
      const sample = () => {
        const rss = renderers.map(rssKiB).filter((v): v is number => v !== null);
        if (rss.length > 0) peak = Math.max(peak ?? 0, rss.reduce((a, b) => a + b, 0) / 1024);
      };
      sample();
      const timer = setInterval(sample, 25);
      try {
        const result = await page.evaluate((o) => (globalThis as unknown as { HaulBench: { upload(x: typeof o): Promise<{ ms: number; url: string; heapMiB: number | null }> } }).HaulBench.upload(o), options);
        sample();
        return { ...result, rendererPeakRssMiB: peak };
      } finally {
        clearInterval(timer);
      }
    },
    close: () => browser.close(),
  };
}
