import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { gifBomb, PNG_SIGNATURE, pngChunk, pngHeader, tiffBomb, webpBomb } from '../../testing/image-bombs.js';
import { readImageHeader, readImageHeaderFromFile } from './image-header.js';

const dims = (result: ReturnType<typeof readImageHeader>) => (result.kind === 'header' ? result.header : result);

/** Bombs: tiny files whose headers declare enormous images (issue 13: 48 KB, 20000×20000). */
const bombs = {
  png: (width: number, height: number) => Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', pngHeader(width, height)), Buffer.alloc(48_000)]),
  /** The frame at (100, 100): the image's extent is the frame's end, 30100×30100. */
  gif: () => gifBomb({ left: 100, top: 100 }),
  /** Both directories after 64 KiB of data. */
  tiff: () => tiffBomb({ firstPageAt: 70_000, bombAt: 70_030 }),
  webp: webpBomb,
};

describe('readImageHeader', () => {
  it('reads the size of real images of every format sharp writes', async () => {
    const base = sharp({ create: { width: 123, height: 45, channels: 4, background: '#08f8' } });
    const cases = [
      ['jpeg', await base.clone().jpeg().toBuffer()],
      ['png', await base.clone().png().toBuffer()],
      ['gif', await base.clone().gif().toBuffer()],
      ['tiff', await base.clone().tiff().toBuffer()],
      ['webp', await base.clone().webp({ lossless: true }).toBuffer()], // VP8L (+ VP8X for alpha)
      ['webp', await base.clone().flatten().webp({ quality: 50 }).toBuffer()], // VP8
      ['heif', await base.clone().avif({ effort: 0 }).toBuffer()],
    ] as const;
    for (const [format, image] of cases) {
      expect(dims(readImageHeader(image)), format).toEqual({ format, width: 123, height: 45, maxPixels: 123 * 45 });
    }
  });

  it('sees each format’s decompression bomb from its header alone', () => {
    expect(dims(readImageHeader(bombs.png(20000, 20000)))).toMatchObject({ format: 'png', maxPixels: 4e8 });
    expect(dims(readImageHeader(bombs.gif()))).toMatchObject({ format: 'gif', width: 1, height: 1, maxPixels: 30100 * 30100 });
    expect(dims(readImageHeader(bombs.webp()))).toMatchObject({ format: 'webp', maxPixels: 2 ** 48 });
  });

  it('asks for the bytes a header points to, and the file reader fetches them', async () => {
    const tiff = bombs.tiff();
    expect(readImageHeader(tiff.subarray(0, 64 * 1024))).toEqual({ kind: 'need-more', offset: 70_000, length: 2 });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-header-'));
    try {
      await fs.writeFile(path.join(dir, 'bomb.tiff'), tiff);
      // The first page is small; the second is the bomb.
      expect(dims(await readImageHeaderFromFile(path.join(dir, 'bomb.tiff')))).toMatchObject({ format: 'tiff', width: 16, height: 16, maxPixels: 1e10 });
      // A JPEG whose frame header comes after 100 KB of APP segments.
      const jpeg = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#123' } }).jpeg().toBuffer();
      const app = Buffer.alloc(60_000);
      app.set([0xff, 0xe2, 0xea, 0x5e]); // APP2, length 59998: 60000 bytes with its marker
      const padded = Buffer.concat([jpeg.subarray(0, 2), app, app, jpeg.subarray(2)]);
      expect(readImageHeader(padded.subarray(0, 64 * 1024)).kind).toBe('need-more');
      await fs.writeFile(path.join(dir, 'late-sof.jpg'), padded);
      expect(dims(await readImageHeaderFromFile(path.join(dir, 'late-sof.jpg')))).toMatchObject({ format: 'jpeg', width: 640, height: 480 });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('says invalid for truncated or broken headers, unknown for other formats', () => {
    expect(readImageHeader(bombs.png(10, 10).subarray(0, 20), { complete: true })).toEqual({ kind: 'invalid', reason: 'image header is truncated' });
    expect(readImageHeader(Buffer.from('RIFF\0\0\0\0WEBPJUNK\0\0\0\0', 'latin1')).kind).toBe('invalid');
    expect(readImageHeader(Buffer.from('%PDF-1.7 hello world')).kind).toBe('unknown');
  });
});
