import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { renderPlaceholder } from './placeholder.js';
import { renderPreviews } from './raster-previews.js';

const sizes = [160, 480, 1280];

/** Left half red, right half blue, stored 1200×800 with EXIF orientation 6 (shown 800×1200). */
async function photo(orientation = 6): Promise<Buffer> {
  const width = 1200;
  const height = 800;
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) raw[3 * i + ((i % width) < width / 2 ? 0 : 2)] = 255;
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).withMetadata({ orientation }).toBuffer();
}

describe('renderPreviews', () => {
  it('makes every size and a placeholder from one decode, oriented, never enlarged, without metadata', async () => {
    const result = await renderPreviews(await photo(), { sizes, maxPixels: 1e8, autoOrient: true });
    if (result.kind !== 'done') throw new Error(result.reason);
    const { width, height, thumbnails, placeholder } = result.value;
    expect({ width, height }).toEqual({ width: 800, height: 1200 });
    expect(thumbnails.map((t) => [t.size, t.width, t.height])).toEqual([[160, 107, 160], [480, 320, 480], [1280, 800, 1200]]);
    for (const t of thumbnails) {
      const meta = await sharp(t.webp).metadata();
      expect(meta).toMatchObject({ format: 'webp', width: t.width, height: t.height });
      expect(meta.exif).toBeUndefined();
      expect(meta.icc).toBeUndefined();
    }
    // Orientation 6 turns the picture clockwise: the red left half ends up on top.
    const { data } = await sharp(thumbnails[0]!.webp).raw().toBuffer({ resolveWithObject: true });
    expect(data[0]).toBeGreaterThan(200); // top-left red
    expect(data[data.length - 3 + 2]).toBeGreaterThan(200); // bottom-right blue
    // The placeholder has the same layout and (ThumbHash stores it coarsely) the aspect ratio.
    const blur = renderPlaceholder(placeholder);
    expect(Math.abs(blur.width / blur.height / (800 / 1200) - 1)).toBeLessThan(0.1);
    expect(blur.rgba[0]).toBeGreaterThan(blur.rgba[2]!); // top: more red than blue
    const last = blur.rgba.length - 4;
    expect(blur.rgba[last + 2]).toBeGreaterThan(blur.rgba[last]!); // bottom: more blue than red
    expect(Buffer.from(placeholder, 'base64').length).toBeLessThan(40);
  });

  it('keeps the stored orientation when told the raster is already upright', async () => {
    const result = await renderPreviews(await photo(), { sizes: [160], maxPixels: 1e8, autoOrient: false });
    expect(result.kind === 'done' && [result.value.width, result.value.height]).toEqual([1200, 800]);
  });

  it('decodes AVIF itself (sharp’s libvips has AV1; only HEVC needs libheif’s tool)', async () => {
    const avif = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#c00' } }).avif({ effort: 0 }).toBuffer();
    const result = await renderPreviews(avif, { sizes, maxPixels: 1e8, autoOrient: true });
    expect(result.kind === 'done' && result.value.thumbnails.map((t) => t.width)).toEqual([160, 300, 300]);
  });

  it('refuses a decompression bomb and corrupt data with a reason', async () => {
    const bomb = await renderPreviews(await photo(1), { sizes, maxPixels: 1000, autoOrient: true });
    expect(bomb).toEqual({ kind: 'failed', blame: 'file', reason: 'image dimensions exceed 1000 pixels (decompression bomb?)' });
    const truncated = await renderPreviews((await photo(1)).subarray(0, 2000), { sizes, maxPixels: 1e8, autoOrient: true });
    expect(truncated).toMatchObject({ kind: 'failed', blame: 'file', reason: expect.stringMatching(/^image data is corrupt/) });
  });
});
