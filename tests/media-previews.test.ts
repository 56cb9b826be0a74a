import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type UploadJson, uploadSchema } from '@haul/api';
import { hasGps, readOrientation, tiffStart } from '../server/src/processing/media/exif.js';
import type { FreshDatabase } from './helpers/database.js';
import { sha256 } from './helpers/files.js';
import { decompressionBombPng, pngChunk } from './helpers/fixtures.js';
import { type HaulServer, type ProcessingHaul, startProcessingHaul } from './helpers/haul-server.js';
import { localS3 } from './helpers/s3.js';
import { uploadBuffer } from './helpers/tus.js';
import { bearer, expectHistory, waitForUpload } from './helpers/uploads-api.js';
import { addRotation, declareSize } from './media-fixtures/heif-edit.js';
import { heifFromJpeg, jpegBomb, makeAudio, makeFrameBomb, makeVideo, phoneJpeg, qpdf, redOverBlue, tool, webpBomb } from './media-fixtures/make-media.js';
import { writePdf } from './media-fixtures/pdf-writer.js';

/**
 * Previews of what people share, end to end: files made here with ffmpeg, heif-enc, qpdf, sharp
 * and a PDF writer, uploaded over tus to the built server (real clamd, real Debian decoders, on
 * disk and on S3), and read back through the API: `media`, the WebP previews, the served original.
 */

const s3 = localS3();
const s3Prefix = `t-media-${Date.now().toString(36)}/`;
const PLACEHOLDER = /^[A-Za-z0-9+/]{20,}={0,2}$/;
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-media-previews-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A JPEG's entropy-coded data: everything from the first SOS marker on. */
const scanData = (jpeg: Buffer) => jpeg.subarray(jpeg.indexOf(Buffer.from([0xff, 0xda])));

/** GPS in EXIF, as phones write it, for sharp's withExif. */
const GPS_EXIF = { IFD0: { Make: 'Apple' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2958/100' } };

/** The EXIF (TIFF) block of a HEIC, as heif-convert extracts it. */
async function heicExif(file: Buffer): Promise<Buffer> {
  const input = path.join(dir, `exif-${Date.now()}.heic`);
  await fs.writeFile(input, file);
  await tool('heif-convert', ['--with-exif', '--quiet', input, input.replace(/\.heic$/, '.jpg')]);
  const exif = await fs.readFile(input.replace(/\.heic$/, '.exif'));
  const tiff = exif.subarray(4 + exif.readUInt32BE(0));
  return tiff.subarray(tiffStart(tiff));
}

describe.each([
  { backend: 'disk', env: () => ({}) },
  { backend: 'S3 (Swift)', env: () => s3.env(s3Prefix) },
])('media previews on $backend', ({ env }) => {
  let processing: ProcessingHaul;
  let server: HaulServer;
  let token: string;

  beforeAll(async () => {
    ({ server } = processing = await startProcessingHaul(env()));
    token = await server.token('alice');
  });
  afterAll(() => processing?.close());

  async function upload(file: Buffer | string, filename: string, filetype: string): Promise<UploadJson> {
    const data = typeof file === 'string' ? await fs.readFile(file) : file;
    const { id } = await uploadBuffer(server.tusEndpoint, token, data, { filename, filetype });
    const result = await waitForUpload(server, token, id, { timeoutMs: 60_000 });
    expect(uploadSchema.parse(result)).toEqual(result);
    return result;
  }
  const get = async (url: string) => {
    const response = await fetch(new URL(url, server.url), { headers: bearer(token) });
    expect(response.status).toBe(200);
    return Buffer.from(await response.arrayBuffer());
  };

  it.each([
    { container: 'mp4', type: 'video/mp4' },
    { container: 'webm', type: 'video/webm' },
    { container: 'mov', type: 'video/quicktime' },
  ] as const)('$container: a poster in the three WebP sizes, size, duration and placeholder', async ({ container, type }) => {
    const video = await makeVideo(dir, `clip-${container}`, { container, seconds: 3 });
    const result = await upload(video, `clip.${container}`, type);
    expect(result).toMatchObject({ status: 'ready', reason: null, detectedType: type });
    expect(result.media).toEqual({ width: 640, height: 360, durationMs: expect.any(Number), pages: null, placeholder: expect.stringMatching(PLACEHOLDER) });
    expect(Math.abs(result.media.durationMs! - 3000)).toBeLessThan(150);
    expect(result.thumbnails.map((t) => [t.size, t.width, t.height])).toEqual([[160, 160, 90], [480, 480, 270], [1280, 640, 360]]);
    const poster = await sharp(await get(result.thumbnails[2]!.url)).metadata();
    expect(poster).toMatchObject({ format: 'webp', width: 640, height: 360 });
    // Videos are served as uploaded: only images carry a location we strip.
    expect(sha256(await get(result.contentUrl!))).toBe(sha256(await fs.readFile(video)));
  });

  it('HEIC from an iPhone-like encoder (irot + EXIF orientation, GPS): upright previews, download without GPS', async () => {
    const converted = await fs.readFile(await heifFromJpeg(dir, 'iphone-source', await phoneJpeg()));
    const iphone = addRotation(converted, 3);
    expect(hasGps(await heicExif(iphone))).toBe(true);
    const result = await upload(iphone, 'IMG_0042.HEIC', 'image/heic');
    expect(result).toMatchObject({ status: 'ready', reason: null, detectedType: 'image/heic' });
    expect(result.media).toEqual({ width: 480, height: 640, durationMs: null, pages: null, placeholder: expect.stringMatching(PLACEHOLDER) });
    expect(result.thumbnails.map((t) => [t.width, t.height])).toEqual([[120, 160], [360, 480], [480, 640]]);
    expect(await redOverBlue(await get(result.thumbnails[2]!.url))).toBe(true);

    const served = await get(result.contentUrl!);
    expect(served.length).toBe(iphone.length);
    expect(result.sha256).toBe(sha256(served));
    const exif = await heicExif(served);
    expect(hasGps(exif)).toBe(false);
    expect(readOrientation(exif)).toBe(6);
  });

  it('JPEG with GPS: served without it, pixels and entropy-coded data byte-identical, sha256 of the served bytes', async () => {
    const jpeg = await phoneJpeg(800, 600);
    const result = await upload(jpeg, 'IMG_0043.JPG', 'image/jpeg');
    expect(result).toMatchObject({ status: 'ready', reason: null });
    expect(result.media).toMatchObject({ width: 600, height: 800, placeholder: expect.stringMatching(PLACEHOLDER) });
    const served = await get(result.contentUrl!);
    expect(result.sha256).toBe(sha256(served));
    expect(served.equals(jpeg)).toBe(false);
    expect(scanData(served).equals(scanData(jpeg))).toBe(true);
    const [before, after] = await Promise.all([jpeg, served].map((b) => sharp(b).raw().toBuffer()));
    expect(after!.equals(before!)).toBe(true);
    const meta = await sharp(served).metadata();
    expect(meta.orientation).toBe(6);
    expect(hasGps(meta.exif!.subarray(tiffStart(meta.exif!)))).toBe(false);
  });

  it('PNG and WebP with GPS: served without it; a PNG that loses a profile chunk records its served size', async () => {
    const picture = sharp({ create: { width: 320, height: 240, channels: 3, background: '#3070c0' } });
    const png = await picture.clone().png().withExif(GPS_EXIF).toBuffer();
    const webp = await picture.clone().webp().withExif(GPS_EXIF).toBuffer();
    // ImageMagick's copy of the EXIF as a text chunk (dropped whole by the stripper: the file shrinks).
    const profile = pngChunk('tEXt', Buffer.from('Raw profile type exif\0\nexif\n      8\n4578696600000000\n', 'latin1'));
    const pngWithProfile = Buffer.concat([png.subarray(0, 33), profile, png.subarray(33)]);
    for (const [data, name, type] of [[png, 'map.png', 'image/png'], [webp, 'map.webp', 'image/webp'], [pngWithProfile, 'profile.png', 'image/png']] as const) {
      expect(hasGps((await sharp(data).metadata()).exif!.subarray(tiffStart((await sharp(data).metadata()).exif!)))).toBe(true);
      const result = await upload(data, name, type);
      expect(result, name).toMatchObject({ status: 'ready', reason: null, media: { width: 320, height: 240 } });
      const served = await get(result.contentUrl!);
      expect(result.sha256).toBe(sha256(served));
      expect(result.size).toBe(served.length);
      expect(served.length, name).toBe(name === 'profile.png' ? data.length - profile.length : data.length);
      const exif = (await sharp(served).metadata()).exif!;
      expect(hasGps(exif.subarray(tiffStart(exif))), name).toBe(false);
      expect((await sharp(served).raw().toBuffer()).equals(await sharp(data).raw().toBuffer())).toBe(true);
    }
  });

  it('a PDF: the first page previewed, its page count, a placeholder', async () => {
    const result = await upload(writePdf({ pages: 3 }), 'report.pdf', 'application/pdf');
    expect(result).toMatchObject({ status: 'ready', reason: null, detectedType: 'application/pdf' });
    // US Letter (612×792 pt) rendered at 1280 px on the long side (poppler rounds 989.1 up).
    expect(result.media).toEqual({ width: 990, height: 1280, durationMs: null, pages: 3, placeholder: expect.stringMatching(PLACEHOLDER) });
    expect(result.thumbnails.map((t) => t.height)).toEqual([160, 480, 1280]);
  });
});

describe('media previews: what goes wrong (disk)', () => {
  let processing: ProcessingHaul;
  let server: HaulServer;
  let database: FreshDatabase;
  let token: string;
  let pdfCalls = 0;
  let listener: http.Server;
  let port: number;

  beforeAll(async () => {
    listener = http.createServer((_, res) => {
      pdfCalls++;
      res.end();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as AddressInfo).port;
    ({ server, database } = processing = await startProcessingHaul());
    token = await server.token('alice');
  });
  afterAll(async () => {
    await processing?.close();
    listener?.close();
  });

  async function upload(file: Buffer | string, filename: string, filetype: string): Promise<UploadJson> {
    const data = typeof file === 'string' ? await fs.readFile(file) : file;
    const { id } = await uploadBuffer(server.tusEndpoint, token, data, { filename, filetype });
    return waitForUpload(server, token, id, { timeoutMs: 60_000 });
  }

  it('audio, and a "video" with only a sound track: a duration, no preview, no complaint', async () => {
    const m4a = await upload(await makeAudio(dir, 'voice', 'm4a', 2), 'voice.m4a', 'audio/x-m4a');
    expect(m4a).toMatchObject({ status: 'ready', reason: null, thumbnails: [] });
    expect(m4a.media).toEqual({ width: null, height: null, durationMs: expect.any(Number), pages: null, placeholder: null });
    expect(Math.abs(m4a.media.durationMs! - 2000)).toBeLessThan(100);

    const soundOnly = path.join(dir, 'sound-only.mp4');
    await tool('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=duration=1.5', '-c:a', 'aac', soundOnly]);
    const result = await upload(soundOnly, 'sound-only.mp4', 'video/mp4');
    expect(result).toMatchObject({ status: 'ready', reason: null, detectedType: 'video/mp4', thumbnails: [] });
    expect(result.media).toMatchObject({ width: null, height: null, placeholder: null });
    expect(Math.abs(result.media.durationMs! - 1500)).toBeLessThan(100);
  });

  it('a corrupt video is ready without a preview, saying why', async () => {
    const corrupt = Buffer.concat([Buffer.from('\0\0\0\x18ftypmp42\0\0\0\0mp42isom'), Buffer.alloc(50_000, 0x5a)]);
    const result = await upload(corrupt, 'broken.mp4', 'video/mp4');
    expect(result).toMatchObject({ status: 'ready', detectedType: 'video/mp4', thumbnails: [] });
    expect(result.reason).toMatch(/^no preview: ffprobe could not read the file/);
    expect(result.media).toEqual({ width: null, height: null, durationMs: null, pages: null, placeholder: null });
    await expectHistory(database.sql, result.id, 'ready', /no preview/);
  });

  it('a PDF with JavaScript is previewed and the script never runs', async () => {
    const script = `this.submitForm\\({cURL: "http://127.0.0.1:${port}/ran"}\\); app.launchURL\\("http://127.0.0.1:${port}/launched"\\);`;
    const result = await upload(writePdf({ javascript: script }), 'form.pdf', 'application/pdf');
    expect(result).toMatchObject({ status: 'ready', detectedType: 'application/pdf' });
    expect(result.media.pages).toBe(1);
    expect(result.thumbnails).toHaveLength(3);
    expect(pdfCalls).toBe(0);
    // …and it is only ever downloaded, never shown inline (pdf-active-content.ts, serve-file.ts).
    expect(result.reason).toMatch(/^active PDF, served only as an attachment \(it contains .*JavaScript/);
    const served = await fetch(new URL(result.contentUrl!, server.url), { headers: bearer(token) });
    expect(served.headers.get('content-disposition')).toMatch(/^attachment;/);
    await served.arrayBuffer();
  });

  it('an encrypted PDF: with a user password, pages unknown and no preview; without one, previewed', async () => {
    const source = path.join(dir, 'plain.pdf');
    await fs.writeFile(source, writePdf({ pages: 2 }));
    const locked = await upload(await qpdf(source, 'locked.pdf', { userPassword: 'secret' }), 'locked.pdf', 'application/pdf');
    // Its active content cannot be ruled out either (cheap-verdict/pdf-active-content): an attachment, noted first.
    expect(locked).toMatchObject({ status: 'ready', thumbnails: [], reason: expect.stringMatching(/no preview: the PDF needs a password to open$/) });
    expect(locked.media).toEqual({ width: null, height: null, durationMs: null, pages: null, placeholder: null });
    const open = await upload(await qpdf(source, 'owner-only.pdf', { userPassword: '' }), 'owner-only.pdf', 'application/pdf');
    expect(open).toMatchObject({ status: 'ready', reason: expect.stringMatching(/^active PDF, served only as an attachment/) });
    expect(open.reason).not.toMatch(/no preview/);
    expect(open.media.pages).toBe(2);
    expect(open.thumbnails).toHaveLength(3);
  });

  it('decompression bombs in each format: refused from the header, or rendered at a bounded size', async () => {
    const small = await fs.readFile(await heifFromJpeg(dir, 'small', await phoneJpeg(64, 48)));
    // Images are refused from their headers before any decoder runs (cheap-verdict.ts): HEIC too.
    for (const [data, name, type] of [
      [decompressionBombPng(200_000, 200_000), 'bomb.png', 'image/png'],
      [await jpegBomb(), 'bomb.jpg', 'image/jpeg'],
      [await webpBomb(), 'bomb.webp', 'image/webp'],
      [declareSize(small, 50_000, 50_000), 'bomb.heic', 'image/heic'],
    ] as const) {
      const image = await upload(data, name, type);
      expect(image, name).toMatchObject({ status: 'rejected', detectedType: type, reason: expect.stringMatching(/exceed .*pixels/) });
    }

    // A video frame: refused by the poster step from ffprobe's size, the upload stays ready.
    const frame = await upload(await makeFrameBomb(dir), 'bomb.mkv', 'video/x-matroska');
    expect(frame).toMatchObject({ status: 'ready', thumbnails: [], reason: 'no preview: video frames of 12000×12000 exceed 100000000 pixels' });
    expect(frame.media).toMatchObject({ width: 12000, height: 12000 });


    // A page 200 000 pt (69 m) wide: poppler renders it at 1280 px all the same.
    const started = Date.now();
    const page = await upload(writePdf({ width: 200_000, height: 100_000 }), 'huge-page.pdf', 'application/pdf');
    expect(page).toMatchObject({ status: 'ready', reason: null });
    expect(page.media).toMatchObject({ width: 1280, height: 640, pages: 1 });
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('media previews: a decoder killed by its time limit', () => {
  let processing: ProcessingHaul;
  let server: HaulServer;
  let token: string;

  beforeAll(async () => {
    // 1 ms: no decoder can start and finish in it, so each run is killed by the limit.
    ({ server } = processing = await startProcessingHaul({ MEDIA_TIME_LIMIT_MS: '1' }));
    token = await server.token('alice');
  });
  afterAll(() => processing?.close());

  it('the upload is ready without a preview, with the reason, and the next one is processed too', async () => {
    for (const name of ['first', 'second']) {
      const video = await makeVideo(dir, `limited-${name}`, { seconds: 1 });
      const { id } = await uploadBuffer(server.tusEndpoint, token, await fs.readFile(video), { filename: `${name}.mp4`, filetype: 'video/mp4' });
      const result = await waitForUpload(server, token, id);
      expect(result).toMatchObject({ status: 'ready', thumbnails: [], media: { width: null, placeholder: null } });
      expect(result.reason).toMatch(/^no preview: ffprobe did not finish within its time limit/);
    }
  });
});
