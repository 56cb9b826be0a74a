import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './helpers/browser.js';
import { type DemoSession, galleryItem, openDemo, signIn, uploadFiles, waitForBadge } from './helpers/demo.js';
import type { HaulServer } from './helpers/haul-server.js';
import { scopedToken } from './helpers/host-app.js';

/**
 * Conversations in the demo, three browsers at once: Alice shares a file in #team; Bob, a member
 * of #team, sees it appear while he watches (the demo polls the conversation's list) and
 * downloads it; Carol, who is only in #random, sees it nowhere and cannot list #team.
 */

describe('demo app: a file shared in a conversation', () => {
  let demo: DemoSession;
  let server: HaulServer;
  const pages: Record<string, Page> = {};
  let dir: string;
  let notes: string;
  const content = Buffer.from('Minutes of the #team meeting: ship it.\n'.repeat(50));

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-demo-conversations-'));
    notes = path.join(dir, 'team-notes.txt');
    await fsp.writeFile(notes, content);
    demo = await openDemo();
    ({ server, page: pages.alice } = demo);
    for (const user of ['bob', 'carol']) pages[user] = await demo.newPage();
  });
  afterAll(async () => {
    await demo?.close();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('members sign in with their conversations', async () => {
    await signIn(pages.alice!, 'alice', 'team, random');
    await signIn(pages.bob!, 'bob', 'team');
    await signIn(pages.carol!, 'carol', 'random');
    expect(await pages.alice!.getByTestId('conversation-team').count()).toBe(1);
    expect(await pages.carol!.getByTestId('conversation-team').count()).toBe(0);
    await pages.bob!.getByTestId('conversation-team').click();
    await pages.carol!.getByTestId('conversation-random').click();
  });

  it('Alice uploads into #team; Bob, watching #team, sees it appear live and downloads it', async () => {
    const alice = pages.alice!;
    const bob = pages.bob!;
    await alice.getByTestId('conversation-team').click();
    await expect.poll(() => alice.locator('#gallery-heading').textContent()).toContain('# team');
    await uploadFiles(alice, [notes]);
    await waitForBadge(alice, 'team-notes.txt', 'ready');
    // Bob did nothing: the conversation's list, polled, brings the file in.
    await waitForBadge(bob, 'team-notes.txt', 'ready', 30_000);
    await screenshot(bob, '10-conversation-member-sees-shared-file');
    const [download] = await Promise.all([bob.waitForEvent('download'), galleryItem(bob, 'team-notes.txt').getByTestId('download').click()]);
    expect(await fsp.readFile((await download.path())!)).toEqual(content);
    // Bob's own files are his: the shared file is not among them.
    await bob.getByTestId('conversation-own').click();
    await expect.poll(() => bob.getByTestId('gallery').textContent()).toContain('No uploads yet');
  });

  it('Carol, not in #team, sees it nowhere and may not list #team', async () => {
    const carol = pages.carol!;
    await new Promise((r) => setTimeout(r, 3500)); // longer than one polling round
    expect(await galleryItem(carol, 'team-notes.txt').count()).toBe(0);
    await carol.getByTestId('conversation-own').click();
    await expect.poll(() => carol.getByTestId('gallery').textContent()).toContain('No uploads yet');
    const token = await scopedToken(server, 'carol', ['conv:random']);
    const listed = await fetch(`${server.url}/api/uploads?scope=conv:team`, { headers: { Authorization: `Bearer ${token}` } });
    expect(listed.status).toBe(403);
    expect(((await listed.json()) as { code: string }).code).toBe('SCOPE_FORBIDDEN');
  });
});
