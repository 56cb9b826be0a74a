import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './helpers/browser.js';
import { storedPath } from './helpers/files.js';
import { scenePng } from './helpers/fixtures.js';
import { type DemoSession, galleryItem, openDemo, signIn, waitForBadge } from './helpers/demo.js';
import type { HaulServer } from './helpers/haul-server.js';
import { scopedToken } from './helpers/host-app.js';

/**
 * The demo's "End-to-end encrypt": Alice, in #team, derives the conversation's key from a
 * passphrase and uploads a photo and a text file encrypted in her page; the server stores only
 * ciphertext; Bob, a member of #team, enters the same passphrase and sees the photo's preview and
 * downloads both decrypted; with a wrong passphrase he gets no preview and no plaintext.
 */

async function setPassphrase(page: Page, passphrase: string): Promise<void> {
  const toggle = page.getByTestId('e2e-toggle');
  if (!(await toggle.isChecked())) await toggle.check();
  await page.getByTestId('e2e-passphrase').fill(passphrase);
  await page.getByTestId('e2e-set-key').click();
  await page.getByTestId('e2e-key-set').waitFor();
}

describe('demo app: end-to-end encrypted files in a conversation', () => {
  let demo: DemoSession;
  let server: HaulServer;
  const pages: Record<string, Page> = {};
  let dir: string;
  let photo: string;
  let notes: string;
  const marker = 'TOP-SECRET-MINUTES-OF-TEAM';
  const text = Buffer.from(`${marker}: ship it.\n`.repeat(4000));

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-demo-e2e-'));
    photo = path.join(dir, 'team-photo.png');
    notes = path.join(dir, 'team-secret.txt');
    await fsp.writeFile(photo, await scenePng(960, 640));
    await fsp.writeFile(notes, text);
    demo = await openDemo();
    ({ server, page: pages.alice } = demo);
    pages.bob = await demo.newPage();
  });
  afterAll(async () => {
    await demo?.close();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('Alice encrypts and uploads in #team: the server holds only ciphertext', async () => {
    await signIn(pages.alice!, 'alice', 'team');
    await signIn(pages.bob!, 'bob', 'team');
    for (const page of Object.values(pages)) await page.getByTestId('conversation-team').click();
    const alice = pages.alice!;
    await setPassphrase(alice, 'correct horse battery staple');
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
    await setPassphrase(bob, 'correct horse battery staple');
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
});
