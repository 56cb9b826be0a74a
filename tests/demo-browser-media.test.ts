import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from './helpers/browser.js';
import { type DemoSession, galleryItem, openDemo, signIn, uploadFiles, waitForBadge } from './helpers/demo.js';
import { addRotation } from './media-fixtures/heif-edit.js';
import { heifFromJpeg, makeVideo, phoneJpeg } from './media-fixtures/make-media.js';
import { writePdf } from './media-fixtures/pdf-writer.js';

/**
 * What people share, in the demo (Debian's Chromium, the real server, real decoders): a video's
 * poster with its length, played from a short-lived link on click; an iPhone-like HEIC shown
 * upright; a PDF's first page and page count; every card shaped by `media` and painted with its
 * ThumbHash placeholder before its preview arrives.
 */

interface VideoState { readyState: number; videoWidth: number; videoHeight: number; currentTime: number; paused: boolean; src: string }
interface Picture { naturalWidth: number; naturalHeight: number; src: string }

describe('demo app: video posters, HEIC photos, PDF first pages, placeholders first', () => {
  let demo: DemoSession;
  let page: Page;
  let dir: string;
  const files: Record<string, string> = {};

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-demo-media-'));
    // WebM (VP9): Chromium plays it whatever codecs its build has.
    files['clip.webm'] = await makeVideo(dir, 'clip', { container: 'webm', seconds: 2 });
    const converted = await fsp.readFile(await heifFromJpeg(dir, 'iphone-source', await phoneJpeg()));
    files['IMG_0042.HEIC'] = path.join(dir, 'IMG_0042.HEIC');
    await fsp.writeFile(files['IMG_0042.HEIC'], addRotation(converted, 3));
    files['slides.pdf'] = path.join(dir, 'slides.pdf');
    await fsp.writeFile(files['slides.pdf'], writePdf({ pages: 3 }));
    demo = await openDemo();
    ({ page } = demo);
  });
  afterAll(async () => {
    await demo?.close();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('shapes each card from `media` and paints the placeholder before the preview loads', async () => {
    // Previews are held back until the placeholders have been checked.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/thumbnails/**', async (route: Route) => {
      await held;
      await route.continue();
    });
    await signIn(page, 'alice');
    await uploadFiles(page, Object.values(files));
    for (const name of Object.keys(files)) await waitForBadge(page, name, 'ready', 90_000);

    for (const [name, ratio] of [['clip.webm', '1.778'], ['IMG_0042.HEIC', '0.75'], ['slides.pdf', '0.773']] as const) {
      const card = galleryItem(page, name);
      const media = card.getByTestId('card-media');
      expect(await media.evaluate((el) => (el as unknown as { style: { getPropertyValue(p: string): string } }).style.getPropertyValue('--media-ratio'))).toBe(ratio);
      const placeholder = card.getByTestId('placeholder');
      await placeholder.waitFor();
      expect(await placeholder.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
      expect(await card.getByTestId('thumbnail').count()).toBe(0);
    }
    await screenshot(page, 'media-01-placeholders');
    release(); // the held requests and any later ones go through
  });

  it('shows the HEIC upright, the PDF’s first page and page count, the video’s poster and length', async () => {
    for (const name of Object.keys(files)) await galleryItem(page, name).getByTestId('thumbnail').waitFor({ timeout: 30_000 });
    const picture = (name: string) =>
      galleryItem(page, name).getByTestId('thumbnail').evaluate((img) => {
        const { naturalWidth, naturalHeight, src } = img as unknown as Picture;
        return { naturalWidth, naturalHeight, src };
      });
    const heic = await picture('IMG_0042.HEIC');
    expect(heic.naturalHeight).toBeGreaterThan(heic.naturalWidth); // stored landscape, shown portrait
    const pdf = await picture('slides.pdf');
    expect(pdf.naturalHeight).toBeGreaterThan(pdf.naturalWidth);
    expect(await galleryItem(page, 'slides.pdf').getByTestId('pages').textContent()).toContain('3 pages');
    const poster = await picture('clip.webm');
    expect(poster.naturalWidth).toBeGreaterThan(poster.naturalHeight);
    expect(await galleryItem(page, 'clip.webm').getByTestId('duration').textContent()).toBe('0:02');
    await screenshot(page, 'media-02-previews');
  });

  it('plays a video from a short-lived link when its poster is clicked', async () => {
    await galleryItem(page, 'clip.webm').getByTestId('open-preview').click();
    const player = page.getByTestId('video-player');
    await player.waitFor();
    const state = () =>
      player.evaluate((el) => {
        const { readyState, videoWidth, videoHeight, currentTime, paused, src } = el as unknown as VideoState;
        return { readyState, videoWidth, videoHeight, currentTime, paused, src };
      });
    await expect.poll(async () => (await state()).currentTime, { timeout: 20_000 }).toBeGreaterThan(0);
    const playing = await state();
    expect(playing).toMatchObject({ videoWidth: 640, videoHeight: 360 });
    // A signed link (no bearer header on a <video>), not the authenticated content URL.
    expect(playing.src).not.toContain('/content');
    await screenshot(page, 'media-03-video-playing');
    await page.keyboard.press('Escape');
    await page.getByTestId('lightbox').waitFor({ state: 'detached' });
  });
});
