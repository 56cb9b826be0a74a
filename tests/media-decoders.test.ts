import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasGps, readOrientation, tiffStart } from '../server/src/processing/media/exif.js';
import {
  createLocationStripper, decodeHeif, extractPoster, probeMedia, readPdfInfo, renderFirstPage, renderPreviews, scanPdfActiveContent,
  type MediaResult,
} from '../server/src/processing/media/index.js';
import { addRotation, declareSize } from './media-fixtures/heif-edit.js';
import { heifFromJpeg, loopVideo, makeAudio, makeFrameBomb, makeVideo, phoneJpeg, qpdf, redOverBlue, rotateVideo, tool } from './media-fixtures/make-media.js';
import { writePdf } from './media-fixtures/pdf-writer.js';

/**
 * The media toolkit against the real Debian decoders (scripts/local-media-tools.sh installs them):
 * ffprobe/ffmpeg, pdfinfo/pdftoppm, heif-thumbnailer, each run sandboxed. Every file is made here
 * (ffmpeg, heif-enc, qpdf, sharp, a PDF writer), including each failure mode: a hang, a memory
 * bomb, corrupt and stream-less videos, encrypted PDFs, PDFs with JavaScript, iPhone-like HEICs.
 */

const MiB = 1024 * 1024;
const SIZES = [160, 480, 1280];
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-media-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function value<T>(result: MediaResult<T>): T {
  if (result.kind !== 'done') throw new Error(`expected done, got: ${result.reason}`);
  return result.value;
}

async function previewsOf(png: Buffer, autoOrient = true) {
  return value(await renderPreviews(png, { sizes: SIZES, maxPixels: 1e8, autoOrient }));
}

describe('video and audio', () => {
  const posterOptions = { maxPixels: 1e8, maxSide: 1280 };

  for (const container of ['mp4', 'mov', 'webm', 'mkv'] as const) {
    it(`${container}: size, duration, a poster at ~1 s made into WebP previews and a placeholder`, async () => {
      const file = await makeVideo(dir, `clip-${container}`, { container });
      const mime = { mp4: 'video/mp4', mov: 'video/quicktime', webm: 'video/webm', mkv: 'video/matroska' }[container];
      const probe = value(await probeMedia(file, mime));
      expect(probe).toMatchObject({ hasVideo: true, hasAudio: true, width: 640, height: 360, rotation: 0 });
      expect(probe.durationMs).toBeGreaterThan(2900);
      expect(probe.durationMs).toBeLessThan(3200);
      const poster = value(await extractPoster(file, mime, probe, posterOptions));
      expect(await sharp(poster).metadata()).toMatchObject({ format: 'png', width: 640, height: 360 });
      const previews = await previewsOf(poster);
      expect(previews.thumbnails.map((t) => [t.width, t.height])).toEqual([[160, 90], [480, 270], [640, 360]]);
      expect(previews.placeholder.length).toBeGreaterThan(20);
    });
  }

  it('a clip shorter than a second gets its first frame; a portrait phone video is turned upright', async () => {
    const short = await makeVideo(dir, 'short', { seconds: 0.4 });
    const probe = value(await probeMedia(short, 'video/mp4'));
    expect(value(await extractPoster(short, 'video/mp4', probe, posterOptions)).length).toBeGreaterThan(1000);
    const portrait = await rotateVideo(await makeVideo(dir, 'landscape', { seconds: 2 }), 90);
    const turned = value(await probeMedia(portrait, 'video/mp4'));
    expect(turned).toMatchObject({ width: 360, height: 640 });
    expect([90, 270]).toContain(turned.rotation);
    expect(await sharp(value(await extractPoster(portrait, 'video/mp4', turned, posterOptions))).metadata()).toMatchObject({ width: 360, height: 640 });
  });

  it('audio only: duration, no poster', async () => {
    for (const [ext, mime] of [['m4a', 'audio/mp4'], ['mp3', 'audio/mpeg']] as const) {
      const probe = value(await probeMedia(await makeAudio(dir, `tone-${ext}`, ext), mime));
      expect(probe).toMatchObject({ hasVideo: false, hasAudio: true, width: null, height: null });
      expect(Math.abs(probe.durationMs! - 2000)).toBeLessThan(100);
      expect(await extractPoster('unused', mime, probe, posterOptions)).toEqual({ kind: 'failed', blame: 'file', reason: 'no video stream: no poster' });
    }
    // An mp4 with only a sound track is "video/mp4" by its magic number: still no poster.
    const silentVideo = await makeAudio(dir, 'audio-in-mp4', 'm4a');
    expect(value(await probeMedia(silentVideo, 'video/mp4')).hasVideo).toBe(false);
  });

  it('corrupt and truncated files fail with the decoder’s reason, blamed on the file', async () => {
    const garbage = path.join(dir, 'garbage.mp4');
    await fs.writeFile(garbage, Buffer.concat([Buffer.from('\0\0\0\x18ftypmp42'), Buffer.alloc(50_000, 0x5a)]));
    expect(await probeMedia(garbage, 'video/mp4')).toMatchObject({ kind: 'failed', blame: 'file', reason: expect.stringMatching(/^ffprobe could not read the file/) });
    const whole = await fs.readFile(await makeVideo(dir, 'to-truncate'));
    const truncated = path.join(dir, 'truncated.mp4');
    await fs.writeFile(truncated, whole.subarray(0, whole.length / 3)); // ffmpeg writes moov last: now missing
    expect(await probeMedia(truncated, 'video/mp4')).toMatchObject({ kind: 'failed', blame: 'file' });
    expect(await probeMedia(garbage, 'application/zip')).toEqual({ kind: 'failed', blame: 'file', reason: 'no media reader for application/zip' });
  });

  it('nothing in a file makes ffmpeg open another file or a URL: a playlist named .mp4 is not followed', async () => {
    // Probed by content, this "video" is an HLS playlist: ffprobe would read the other user's clip it
    // names (and show its poster). The forced demuxer and the `file`-only whitelist prevent it.
    let requests = 0;
    const server = http.createServer((_, res) => {
      requests++;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const someoneElses = await makeVideo(dir, 'someone-elses', { seconds: 1 });
    const playlist = path.join(dir, 'playlist.mp4');
    const entries = [someoneElses, `http://127.0.0.1:${port}/segment.ts`].map((uri) => `#EXTINF:1,\n${uri}\n`).join('');
    await fs.writeFile(playlist, `#EXTM3U\n#EXT-X-TARGETDURATION:1\n${entries}#EXT-X-ENDLIST\n`);
    try {
      expect(await probeMedia(playlist, 'video/mp4')).toMatchObject({ kind: 'failed', blame: 'file', reason: expect.stringContaining('Invalid data found') });
      expect(requests).toBe(0);
    } finally {
      server.close();
    }
  });

  it('a decoder that hangs is killed at its time limit (ffprobe and pdfinfo on a FIFO nobody writes)', async () => {
    const fifo = path.join(dir, 'never.fifo');
    await tool('mkfifo', [fifo]);
    const limits = { timeoutMs: 500, memoryBytes: 1024 * MiB, maxStdoutBytes: MiB, maxFileBytes: 0 };
    const started = performance.now();
    expect(await probeMedia(fifo, 'video/mp4', { limits })).toMatchObject({ kind: 'failed', blame: 'file', reason: expect.stringMatching(/^ffprobe did not finish within its time limit/) });
    expect(await readPdfInfo(fifo, { limits })).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/^pdfinfo did not finish/) });
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('a frame that would need 432 MB is stopped by the memory limit; a normal one fits under it', async () => {
    const bomb = await makeFrameBomb(dir);
    expect((await fs.stat(bomb)).size).toBeLessThan(MiB);
    const probe = value(await probeMedia(bomb, 'video/matroska'));
    const limits = { timeoutMs: 20_000, memoryBytes: 400 * MiB, maxStdoutBytes: 32 * MiB, maxFileBytes: 0 };
    // The pixel check would refuse it first (144 Mpx > 100 Mpx): lifted to reach the decoder.
    const started = performance.now();
    const result = await extractPoster(bomb, 'video/matroska', probe, { ...posterOptions, maxPixels: 2e8, limits });
    expect(result).toMatchObject({ kind: 'failed', blame: 'file', reason: expect.stringMatching(/^ffmpeg ran out of its memory limit/) });
    expect(performance.now() - started).toBeLessThan(3000);
    expect(await extractPoster(bomb, 'video/matroska', probe, posterOptions)).toMatchObject({ reason: 'video frames of 12000×12000 exceed 100000000 pixels' });
    const normal = await makeVideo(dir, 'hd', { width: 1920, height: 1080, seconds: 2 });
    const hd = value(await probeMedia(normal, 'video/mp4'));
    expect(value(await extractPoster(normal, 'video/mp4', hd, { ...posterOptions, limits })).length).toBeGreaterThan(1000);
  });

  it('the poster of a 1 GiB video costs what a 10 MiB one does (seek, one frame)', async () => {
    const small = await makeVideo(dir, 'ten-mib', { width: 1920, height: 1080, seconds: 4, bitrate: '20M' });
    const big = await loopVideo(small, 100);
    expect((await fs.stat(big)).size).toBeGreaterThan(1000 * MiB);
    const time = async (file: string) => {
      const started = performance.now();
      const probe = value(await probeMedia(file, 'video/mp4'));
      value(await extractPoster(file, 'video/mp4', probe, posterOptions));
      return performance.now() - started;
    };
    await time(small); // warm the page cache and the binaries
    const [smallMs, bigMs] = [await time(small), await time(big)];
    console.log(`probe + poster: 10 MiB ${Math.round(smallMs)} ms, 1 GiB ${Math.round(bigMs)} ms`);
    expect(bigMs).toBeLessThan(2000);
    expect(bigMs).toBeLessThan(3 * smallMs + 500);
    await fs.rm(big);
  });
});

describe('PDF', () => {
  const write = async (name: string, data: Buffer) => {
    await fs.writeFile(path.join(dir, name), data);
    return path.join(dir, name);
  };

  it('page count and the first page at 1280 px on the long side, made into previews', async () => {
    const file = await write('three.pdf', writePdf({ pages: 3 }));
    expect(value(await readPdfInfo(file))).toEqual({ pages: 3, encrypted: false, passwordRequired: false });
    const page = value(await renderFirstPage(file, { maxSide: 1280 }));
    expect(await sharp(page).metadata()).toMatchObject({ format: 'png', width: 990, height: 1280 });
    expect((await previewsOf(page)).thumbnails.map((t) => t.height)).toEqual([160, 480, 1280]);
    const landscape = await write('landscape.pdf', writePdf({ width: 842, height: 595 }));
    const wide = await sharp(value(await renderFirstPage(landscape, { maxSide: 1280 }))).metadata();
    expect(wide.width).toBe(1280);
    expect(Math.abs(wide.height - (1280 * 595) / 842)).toBeLessThan(1);
  });

  it('JavaScript is found, plain or compressed in object streams, and the page is still previewed (never run)', async () => {
    const plain = writePdf({ javascript: true });
    expect(scanPdfActiveContent(plain)).toMatchObject({ active: true, incomplete: null, names: ['JS', 'JavaScript', 'OpenAction'] });
    const compressed = await fs.readFile(await qpdf(await write('js.pdf', plain), 'js-objstm.pdf'));
    expect(compressed.includes('JavaScript')).toBe(false);
    expect(scanPdfActiveContent(compressed)).toMatchObject({ active: true, incomplete: null });
    expect(scanPdfActiveContent(await fs.readFile(await qpdf(await write('clean.pdf', writePdf()), 'clean-objstm.pdf')))).toMatchObject({ active: false, incomplete: null });
    expect(value(await renderFirstPage(path.join(dir, 'js-objstm.pdf'), { maxSide: 480 })).length).toBeGreaterThan(1000);
  });

  it('encrypted PDFs: with an empty user password previewed (active content unknown, so active); with one, no preview', async () => {
    const source = await write('secret-source.pdf', writePdf({ pages: 2 }));
    const open = await qpdf(source, 'owner-only.pdf', { userPassword: '' });
    expect(value(await readPdfInfo(open))).toEqual({ pages: 2, encrypted: true, passwordRequired: false });
    expect(value(await renderFirstPage(open, { maxSide: 160 })).length).toBeGreaterThan(100);
    expect(scanPdfActiveContent(await fs.readFile(open))).toMatchObject({ active: true, encrypted: true, incomplete: expect.stringContaining('does not inflate') });
    const locked = await qpdf(source, 'locked.pdf', { userPassword: 'hunter2' });
    expect(value(await readPdfInfo(locked))).toEqual({ pages: null, encrypted: true, passwordRequired: true });
    expect(await renderFirstPage(locked, { maxSide: 160 })).toEqual({ kind: 'failed', blame: 'file', reason: 'the PDF needs a password to open: no preview' });
  });

  it('the first page of a 500-page PDF, and a corrupt one', async () => {
    const book = await write('book.pdf', writePdf({ pages: 500 }));
    const started = performance.now();
    expect(value(await readPdfInfo(book)).pages).toBe(500);
    value(await renderFirstPage(book, { maxSide: 1280 }));
    const elapsed = performance.now() - started;
    console.log(`500-page PDF: info + first page ${Math.round(elapsed)} ms`);
    expect(elapsed).toBeLessThan(1500);
    const corrupt = await write('corrupt.pdf', Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(10_000, 0x41)]));
    expect(await readPdfInfo(corrupt)).toMatchObject({ kind: 'failed', blame: 'file' });
  });
});

describe('HEIC', () => {
  it('heif-enc from a rotated JPEG (EXIF orientation, no irot): decoded upright', async () => {
    const file = await heifFromJpeg(dir, 'converted', await phoneJpeg());
    const raster = value(await decodeHeif(file, { maxPixels: 1e8, maxSide: 1280 }));
    expect(raster.autoOrient).toBe(true);
    const previews = await previewsOf(raster.png, raster.autoOrient);
    expect([previews.width, previews.height]).toEqual([480, 640]);
    expect(await redOverBlue(previews.thumbnails[2]!.webp)).toBe(true);
  });

  it('iPhone-like (irot and EXIF orientation both say 90°): upright, not turned twice; GPS stripped losslessly', async () => {
    const converted = await fs.readFile(await heifFromJpeg(dir, 'iphone-source', await phoneJpeg()));
    const iphone = path.join(dir, 'iphone.heic');
    await fs.writeFile(iphone, addRotation(converted, 3));
    const raster = value(await decodeHeif(iphone, { maxPixels: 1e8, maxSide: 1280 }));
    expect(raster.autoOrient).toBe(false);
    const previews = await previewsOf(raster.png, raster.autoOrient);
    expect([previews.width, previews.height]).toEqual([480, 640]);
    expect(await redOverBlue(previews.thumbnails[2]!.webp)).toBe(true);

    const input = await fs.readFile(iphone);
    const stripper = createLocationStripper('image/heic');
    const chunks: Buffer[] = [];
    stripper.stream.on('data', (c: Buffer) => chunks.push(c));
    stripper.stream.end(input);
    expect(await stripper.report).toEqual({ locationFound: true, notes: [] });
    const output = Buffer.concat(chunks);
    expect(output.length).toBe(input.length);
    const stripped = path.join(dir, 'iphone-stripped.heic');
    await fs.writeFile(stripped, output);
    const exif = await promisify(execFile)('heif-convert', ['--with-exif', '--quiet', stripped, path.join(dir, 'out.jpg')]).then(() => fs.readFile(path.join(dir, 'out.exif')));
    const tiff = exif.subarray(4 + exif.readUInt32BE(0)).subarray(tiffStart(exif.subarray(4 + exif.readUInt32BE(0))));
    expect(hasGps(tiff)).toBe(false);
    expect(readOrientation(tiff)).toBe(6);
    // Same picture after stripping: the image data is untouched.
    const again = value(await decodeHeif(stripped, { maxPixels: 1e8, maxSide: 1280 }));
    expect((await sharp(again.png).raw().toBuffer()).equals(await sharp(raster.png).raw().toBuffer())).toBe(true);
  });

  it('a HEIC declaring 50000×50000 is refused from its header, before heif-thumbnailer runs', async () => {
    const bomb = path.join(dir, 'bomb.heic');
    await fs.writeFile(bomb, declareSize(await fs.readFile(await heifFromJpeg(dir, 'small', await phoneJpeg(64, 48))), 50000, 50000));
    const started = performance.now();
    expect(await decodeHeif(bomb, { maxPixels: 1e8, maxSide: 1280 })).toEqual({ kind: 'failed', blame: 'file', reason: 'image dimensions exceed 100000000 pixels (decompression bomb?)' });
    expect(performance.now() - started).toBeLessThan(100);
  });
});
