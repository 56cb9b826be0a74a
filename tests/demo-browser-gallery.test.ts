import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDemoContext, type PageGlobals, screenshot } from './helpers/browser.js';
import { type DemoSession, galleryItem, openDemo, signIn, uploadFiles, waitForBadge } from './helpers/demo.js';
import { sha256, storedPath } from './helpers/files.js';
import { eicarFile, elfBinary, scenePng, simplePdf } from './helpers/fixtures.js';
import type { HaulServer } from './helpers/haul-server.js';

/**
 * The demo app in Debian's Chromium, served by the real server with the real pipeline (clamd
 * with our EICAR signature, sharp): several files up, thumbnails and `ready` badges, a
 * download compared byte for byte, the image viewer and PDF preview, a share link, the reasons
 * for an infected and a spoofed file, and delete — from the gallery and from storage.
 */

describe('demo app: upload, gallery, download, share, reject, delete', () => {
  let demo: DemoSession;
  let server: HaulServer;
  let browser: Browser;
  let page: Page;
  let dir: string;
  const files: Record<string, string> = {};

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-demo-files-'));
    const contents: Record<string, Buffer> = {
      'sunset.png': await scenePng(),
      'report.pdf': simplePdf('Haul demo report'),
      'notes.txt': Buffer.from('Resumable uploads that survive bad networks.\n'.repeat(200)),
      'eicar.txt': eicarFile(),
      'photo.png': elfBinary(8192), // an executable wearing an image's name
    };
    for (const [name, data] of Object.entries(contents)) {
      files[name] = path.join(dir, name);
      await fsp.writeFile(files[name]!, data);
    }
    demo = await openDemo();
    ({ server, browser, page } = demo);
  });
  afterAll(async () => {
    await demo?.close();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('uploads several files and shows thumbnails and ready badges', async () => {
    await signIn(page, 'alice');
    await screenshot(page, '01-signed-in');
    await uploadFiles(page, [files['sunset.png']!, files['report.pdf']!, files['notes.txt']!]);
    await page.locator('.uppy-StatusBar.is-complete').waitFor({ timeout: 60_000 });
    for (const name of ['sunset.png', 'report.pdf', 'notes.txt']) await waitForBadge(page, name, 'ready');
    const thumbnail = galleryItem(page, 'sunset.png').getByTestId('thumbnail');
    await thumbnail.waitFor();
    expect(await thumbnail.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(100);
    // Files without previews get an icon, not a broken image.
    expect(await galleryItem(page, 'notes.txt').getByTestId('thumbnail').count()).toBe(0);
    await screenshot(page, '02-gallery-ready');
  });

  it('downloads files with their names and identical bytes (an image too: saved, not opened)', async () => {
    for (const name of ['notes.txt', 'sunset.png']) {
      const item = galleryItem(page, name);
      const [download] = await Promise.all([page.waitForEvent('download'), item.getByTestId('download').click()]);
      expect(download.suggestedFilename()).toBe(name);
      const saved = await fsp.readFile((await download.path())!);
      expect(sha256(saved)).toBe(sha256(await fsp.readFile(files[name]!)));
    }
    expect(new URL(page.url()).pathname).toBe('/');
  });

  it('opens an image in the lightbox and a PDF inline; Escape closes and returns focus', async () => {
    const opener = galleryItem(page, 'sunset.png').getByTestId('open-preview');
    await opener.click();
    const lightbox = page.getByTestId('lightbox');
    await lightbox.waitFor();
    await lightbox.locator('img').first().waitFor();
    await screenshot(page, '03-lightbox');
    await page.keyboard.press('Escape');
    await lightbox.waitFor({ state: 'detached' });
    expect(await opener.evaluate((el) => el === (globalThis as unknown as PageGlobals).document.activeElement)).toBe(true);

    await galleryItem(page, 'report.pdf').getByTestId('open-preview').click();
    const frame = page.getByTestId('pdf-preview');
    await frame.waitFor();
    const src = (await frame.getAttribute('src'))!;
    const pdf = await fetch(new URL(src, server.url));
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString()).toBe('%PDF-');
    // Chromium's PDF viewer paints a moment after the frame loads; only the picture waits for it.
    await page.waitForTimeout(1500);
    await screenshot(page, '04-pdf-preview');
    await page.getByTestId('lightbox-close').click();
    await page.getByTestId('lightbox').waitFor({ state: 'detached' });
  });

  it('creates a share link that works without signing in', async () => {
    await galleryItem(page, 'sunset.png').getByTestId('share').click();
    const url = await page.getByTestId('share-url').inputValue();
    expect(url).toMatch(new RegExp(`^${server.url}/api/links/`));
    const shared = await fetch(url);
    expect(shared.status).toBe(200);
    expect(sha256(Buffer.from(await shared.arrayBuffer()))).toBe(sha256(await fsp.readFile(files['sunset.png']!)));
    await screenshot(page, '05-share-link');
  });

  it('shows why the server refused an infected and a spoofed file', async () => {
    await uploadFiles(page, [files['eicar.txt']!, files['photo.png']!]);
    const infected = await waitForBadge(page, 'eicar.txt', 'infected');
    expect(await infected.getByTestId('status-reason').textContent()).toMatch(/Eicar/i);
    const spoofed = await waitForBadge(page, 'photo.png', 'rejected');
    expect(await spoofed.getByTestId('status-reason').textContent()).toMatch(/executable/i);
    // Neither offers a download.
    expect(await infected.getByTestId('download').count()).toBe(0);
    expect(await spoofed.getByTestId('download').count()).toBe(0);
    await screenshot(page, '06-rejected-and-infected');
  });

  it('deletes a file: gone from the gallery, the API and storage', async () => {
    const item = galleryItem(page, 'notes.txt');
    const id = (await item.getAttribute('data-upload-id'))!;
    const stored = storedPath(server.dataDir, 'alice', id);
    await fsp.access(stored);
    await item.getByTestId('delete').click();
    await screenshot(page, '07-confirm-delete');
    await page.getByTestId('confirm-delete').click();
    await item.waitFor({ state: 'detached' });
    const token = await server.token('alice');
    expect((await fetch(`${server.url}/api/uploads/${id}`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(404);
    await expect(fsp.access(stored)).rejects.toThrow();
    // A reload shows the same gallery: the deletion was the server's, not only the page's.
    await page.reload();
    await waitForBadge(page, 'sunset.png', 'ready');
    expect(await galleryItem(page, 'notes.txt').count()).toBe(0);
  });

  it('works on a narrow (mobile) viewport', async () => {
    const mobile = await newDemoContext(browser, server.url, { width: 390, height: 844 });
    try {
      const phone = await mobile.newPage();
      await signIn(phone, 'alice');
      await waitForBadge(phone, 'sunset.png', 'ready');
      // Nothing wider than the screen: no sideways scrolling.
      expect(await phone.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await screenshot(phone, '08-mobile-gallery');
    } finally {
      await mobile.close();
    }
  });
});
