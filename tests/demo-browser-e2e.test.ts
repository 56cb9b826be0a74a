import { execFile } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createHaulClient } from '@haul/client/node';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, newDemoContext, screenshot } from './helpers/browser.js';
import { storedPath } from './helpers/files.js';
import { scenePng } from './helpers/fixtures.js';
import { galleryItem, signIn, startDemoServer, waitForBadge } from './helpers/demo.js';
import type { HaulServer } from './helpers/haul-server.js';
import { scopedToken } from './helpers/host-app.js';

/**
 * The demo's "End-to-end encrypt": Alice, in #team, derives the conversation's key from a
 * passphrase and uploads a photo and a text file encrypted in her page; the server stores only
 * ciphertext; Bob, a member of #team, enters the same passphrase and sees the photo's preview and
 * downloads both decrypted; with a wrong passphrase he gets no preview and no plaintext. A video's
 * preview is a frame her page drew on a canvas, uploaded encrypted: it decrypts in the page and,
 * with the same passphrase-derived key, through the SDK in Node (`client.preview`).
 */

const PASSPHRASE = 'correct horse battery staple';
/** The frame colour of the test video (RGB): what the decrypted preview must show. */
const CLIP_RGB = [0x33, 0x66, 0xcc] as const;

/**
 * The demo's conversation key (demo-app/src/lib/e2e-keys.ts: PBKDF2-HMAC-SHA512, 210 000
 * iterations, salt = the conversation id), derived here in Node as a member's app would.
 */
async function demoConversationKey(passphrase: string, conversation: string): Promise<webcrypto.CryptoKey> {
  const { subtle } = globalThis.crypto;
  const encoder = new TextEncoder();
  const material = await subtle.importKey('raw', encoder.encode(passphrase), 'PBKDF2', false, ['deriveKey']);
  return subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-512', salt: encoder.encode(conversation), iterations: 210_000 },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

async function setPassphrase(page: Page, passphrase: string): Promise<void> {
  const toggle = page.getByTestId('e2e-toggle');
  if (!(await toggle.isChecked())) await toggle.check();
  await page.getByTestId('e2e-passphrase').fill(passphrase);
  await page.getByTestId('e2e-set-key').click();
  await page.getByTestId('e2e-key-set').waitFor();
}

describe('demo app: end-to-end encrypted files in a conversation', () => {
  let server: HaulServer;
  let browser: Browser;
  const pages: Record<string, Page> = {};
  let dir: string;
  let photo: string;
  let notes: string;
  let clip: string;
  const marker = 'TOP-SECRET-MINUTES-OF-TEAM';
  const text = Buffer.from(`${marker}: ship it.\n`.repeat(4000));

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-demo-e2e-'));
    photo = path.join(dir, 'team-photo.png');
    notes = path.join(dir, 'team-secret.txt');
    await fsp.writeFile(photo, await scenePng(960, 640));
    await fsp.writeFile(notes, text);
    // A real video: 2 s of VP8 at 640×360 in one colour (WebM plays in Chromium without proprietary codecs).
    clip = path.join(dir, 'team-clip.webm');
    const color = `0x${CLIP_RGB.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
    await promisify(execFile)('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `color=c=${color}:s=640x360:r=25:d=2`, '-c:v', 'libvpx', '-b:v', '400k', '-pix_fmt', 'yuv420p', '-y', clip]);
    [server, browser] = await Promise.all([startDemoServer(), launchChromium()]);
    for (const user of ['alice', 'bob']) pages[user] = await (await newDemoContext(browser, server.url)).newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('Alice encrypts and uploads in #team: the server holds only ciphertext', async () => {
    await signIn(pages.alice!, 'alice', 'team');
    await signIn(pages.bob!, 'bob', 'team');
    for (const page of Object.values(pages)) await page.getByTestId('conversation-team').click();
    const alice = pages.alice!;
    await setPassphrase(alice, PASSPHRASE);
    // While the switch is on, Uppy's dashboard (which sends plain files) is gone from her page.
    await alice.getByTestId('plain-upload-off').waitFor();
    expect(await alice.locator('.uppy-Dashboard').count()).toBe(0);
    expect(await alice.getByTestId('file-input').count()).toBe(0);
    await alice.getByTestId('e2e-file-input').setInputFiles([photo, notes]);
    await expect.poll(() => alice.getByTestId('e2e-upload').evaluateAll((items) => items.map((i) => i.getAttribute('data-state'))), { timeout: 60_000 }).toEqual(['done', 'done']);
    const card = await waitForBadge(alice, 'team-photo.png', 'ready');
    // Her own page decrypts the preview her browser made.
    await card.getByTestId('e2e-preview').waitFor({ timeout: 20_000 });
    await screenshot(alice, '20-e2e-encrypted-upload');

    const token = await scopedToken(server, 'alice', ['conv:team']);
    const list = (await (await fetch(`${server.url}/api/uploads?scope=conv:team`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { items: Array<{ id: string; filename: string; encrypted: boolean; scanned: boolean }> };
    expect(list.items.map((u) => [u.filename, u.encrypted, u.scanned]).sort()).toEqual([['team-photo.png', true, false], ['team-secret.txt', true, false]]);
    const secret = list.items.find((u) => u.filename === 'team-secret.txt')!;
    const stored = await fsp.readFile(storedPath(server.dataDir, 'alice', secret.id));
    expect(stored.includes(Buffer.from(marker))).toBe(false);
    const raw = Buffer.from(await (await fetch(`${server.url}/api/uploads/${secret.id}/content`, { headers: { Authorization: `Bearer ${token}` } })).arrayBuffer());
    expect(raw.includes(Buffer.from(marker))).toBe(false);
  });

  it('Bob, with a wrong passphrase, gets neither the preview nor the file', async () => {
    const bob = pages.bob!;
    await waitForBadge(bob, 'team-photo.png', 'ready', 30_000);
    await galleryItem(bob, 'team-photo.png').getByTestId('e2e-preview-no-key').waitFor();
    await setPassphrase(bob, 'wrong horse');
    await galleryItem(bob, 'team-photo.png').getByTestId('e2e-preview-failed').waitFor({ timeout: 20_000 });
    await galleryItem(bob, 'team-secret.txt').getByTestId('download').click();
    await expect.poll(() => bob.getByRole('alert').allTextContents().then((texts) => texts.join(' ')), { timeout: 20_000 }).toMatch(/wrong key|decrypt/i);
  });

  it('Bob, with the shared passphrase, sees the preview and downloads both files decrypted', async () => {
    const bob = pages.bob!;
    await setPassphrase(bob, PASSPHRASE);
    const preview = galleryItem(bob, 'team-photo.png').getByTestId('e2e-preview');
    await preview.waitFor({ timeout: 20_000 });
    expect(await preview.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
    await screenshot(bob, '21-e2e-member-decrypts');
    for (const [name, file] of [['team-secret.txt', notes], ['team-photo.png', photo]] as const) {
      const [download] = await Promise.all([bob.waitForEvent('download'), galleryItem(bob, name).getByTestId('download').click()]);
      expect(download.suggestedFilename()).toBe(name);
      expect((await fsp.readFile((await download.path())!)).equals(await fsp.readFile(file))).toBe(true);
    }
  });

  it('a video gets a preview frame drawn in the uploader page, uploaded encrypted, decrypted in the page and by the SDK in Node', async () => {
    const alice = pages.alice!;
    await alice.getByTestId('e2e-file-input').setInputFiles([clip]);
    await expect.poll(() => alice.getByTestId('e2e-upload').evaluateAll((items) => items.map((i) => i.getAttribute('data-state'))), { timeout: 60_000 }).toEqual(['done', 'done', 'done']);
    const card = await waitForBadge(alice, 'team-clip.webm', 'ready');
    const preview = card.getByTestId('e2e-preview');
    await preview.waitFor({ timeout: 20_000 });
    expect(await preview.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(320);

    const token = await scopedToken(server, 'alice', ['conv:team']);
    const list = (await (await fetch(`${server.url}/api/uploads?scope=conv:team`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { items: Array<{ id: string; filename: string; encrypted: boolean; thumbnails: unknown[] }> };
    const video = list.items.find((u) => u.filename === 'team-clip.webm')!;
    expect(video).toMatchObject({ encrypted: true, thumbnails: [] });
    const client = createHaulClient({ endpoint: `${server.url}/files/`, getToken: () => token, storage: false });
    const key = await demoConversationKey(PASSPHRASE, 'team');
    const blob = await client.preview(video.id, { encryption: { key } });
    expect(blob?.type).toBe('image/webp');
    const { data, info } = await sharp(Buffer.from(await blob!.arrayBuffer())).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([320, 180]);
    // The frame's colour at the centre, within what VP8 and WebP leave of it.
    const centre = (90 * 320 + 160) * 3;
    for (const [i, expected] of CLIP_RGB.entries()) expect(Math.abs(data[centre + i]! - expected)).toBeLessThanOrEqual(24);
    // A wrong passphrase opens nothing.
    await expect(client.preview(video.id, { encryption: { key: await demoConversationKey('wrong horse', 'team') } })).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
  });
});
