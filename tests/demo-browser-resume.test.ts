import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDemoContext, screenshot, throttleUploads } from './helpers/browser.js';
import { type DemoSession, galleryItem, openDemo, signIn, uploadFiles, waitForBadge } from './helpers/demo.js';
import { textFile } from './helpers/files.js';
import type { HaulServer } from './helpers/haul-server.js';
import { head } from './helpers/tus.js';

/**
 * The demo's reason to exist: on a throttled network, pause an upload, reload the page, add
 * the same file again, and the upload continues where it stopped — the same upload on the
 * server, the rest of the bytes only — and the file is identical. Then the same with the
 * demo's own slow-network switch and parallel parts.
 */

const KiB = 1024;
const MiB = 2 ** 20;

describe('demo app: pause, reload, resume', () => {
  let demo: DemoSession;
  let server: HaulServer;
  let browser: Browser;
  let page: Page;
  let dir: string;

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-demo-resume-'));
    demo = await openDemo();
    ({ server, browser, page } = demo);
  });
  afterAll(async () => {
    await demo?.close();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  /** The server's offset of an upload (tus HEAD), as bob. */
  const serverOffset = async (id: string) => (await head(`${server.tusEndpoint}${id}`, await server.token('bob'))).offset ?? 0;
  /** The offset the upload's record shows (files API): no lock taken. */
  const recordedOffset = async (id: string) => {
    const response = await fetch(`${server.url}/api/uploads/${id}`, { headers: { Authorization: `Bearer ${await server.token('bob')}` } });
    return ((await response.json()) as { offset: number }).offset;
  };

  it('throttled, paused mid-upload, reloaded, re-added: finishes the same upload with identical bytes', async () => {
    const source = await textFile(dir, 'big-notes.txt', 3 * MiB);
    await signIn(page, 'bob');
    await throttleUploads(page, 256 * KiB);
    await uploadFiles(page, [source.path]);

    const item = galleryItem(page, 'big-notes.txt');
    await item.waitFor({ timeout: 30_000 });
    const id = (await item.getAttribute('data-upload-id'))!;
    expect(id).toMatch(/^[A-Za-z0-9_-]{24}$/);
    // Watched through the files API, not tus HEAD: a HEAD asks for the upload's lock, which ends the
    // PATCH in flight, and a checksummed PATCH that ends early is discarded whole.
    await expect.poll(() => recordedOffset(id), { timeout: 30_000 }).toBeGreaterThan(256 * KiB);
    await page.locator('[data-cy=togglePauseResume]').click();
    await screenshot(page, '09-paused');
    const pausedAt = await serverOffset(id);
    expect(pausedAt).toBeLessThan(3 * MiB);

    await page.reload();
    const remembered = page.getByTestId('resumable-item').filter({ hasText: 'big-notes.txt' });
    await remembered.waitFor();
    await screenshot(page, '10-after-reload');
    expect(await galleryItem(page, 'big-notes.txt').getByTestId('status-badge').textContent()).toMatch(/uploading/);

    await throttleUploads(page, -1);
    const requests: string[] = [];
    const checksums: Array<string | undefined> = [];
    page.on('request', (request) => {
      if (!new URL(request.url()).pathname.startsWith('/files/')) return;
      requests.push(request.method());
      if (request.method() === 'PATCH') checksums.push(request.headers()['upload-checksum']);
    });
    await uploadFiles(page, [source.path]);
    const done = await waitForBadge(page, 'big-notes.txt', 'ready');
    expect(await done.getAttribute('data-upload-id')).toBe(id);
    // Resumed, not restarted: no new upload was created, and the server kept what it had.
    expect(requests).not.toContain('POST');
    expect(requests).toContain('HEAD');
    // Uppy through tusOptions(): every PATCH carried the SDK's checksum (WebCrypto's SHA-256).
    expect(checksums.length).toBeGreaterThan(0);
    for (const checksum of checksums) expect(checksum).toMatch(/^sha256 [A-Za-z0-9+/]{43}=$/);
    const record = await (await fetch(`${server.url}/api/uploads/${id}`, { headers: { Authorization: `Bearer ${await server.token('bob')}` } })).json();
    expect(record).toMatchObject({ status: 'ready', size: 3 * MiB, sha256: source.sha256 });
    const list = (await (await fetch(`${server.url}/api/uploads`, { headers: { Authorization: `Bearer ${await server.token('bob')}` } })).json()) as {
      items: Array<{ filename: string }>;
    };
    expect(list.items.filter((u) => u.filename === 'big-notes.txt')).toHaveLength(1);
    expect(await page.getByTestId('resumable-item').count()).toBe(0);
  });

  it("the demo's slow-network switch with parallel parts: pause and resume in the page", async () => {
    const source = await textFile(dir, 'parallel-notes.txt', 2 * MiB);
    const fresh = await newDemoContext(browser, server.url);
    const page = await fresh.newPage();
    await signIn(page, 'carol');
    await page.getByTestId('parallel-toggle').check();
    await page.getByTestId('slow-network-toggle').check();
    await uploadFiles(page, [source.path]);
    // Parallel parts are partial uploads, which the gallery does not list: the file's card
    // appears once they are joined. Pause and resume through Uppy's own control meanwhile.
    await page.locator('.uppy-StatusBar.is-uploading').waitFor();
    const toggle = page.locator('[data-cy=togglePauseResume]');
    await toggle.click();
    await page.locator('[data-cy=togglePauseResume][aria-label="Resume"]').waitFor();
    await screenshot(page, '11-parallel-paused');
    await toggle.click();
    const done = await waitForBadge(page, 'parallel-notes.txt', 'ready', 120_000);
    const id = (await done.getAttribute('data-upload-id'))!;
    const token = await server.token('carol');
    expect((await head(`${server.tusEndpoint}${id}`, token)).header('upload-concat')).toMatch(/^final;/);
    const record = await (await fetch(`${server.url}/api/uploads/${id}`, { headers: { Authorization: `Bearer ${token}` } })).json();
    expect(record).toMatchObject({ status: 'ready', size: 2 * MiB, sha256: source.sha256 });
    await fresh.close();
  });
});
