import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userStorageKey } from '../server/src/auth/user.js';
import type { FreshDatabase } from './helpers/database.js';
import { exists, sha256 } from './helpers/files.js';
import {
  csvFile, decompressionBombPng, eicarFile, elfBinary, heicLike, htmlFile, noisePng, orientedJpegWithGps, storedZip, truncatedJpeg,
} from './helpers/fixtures.js';
import { type HaulServer, type ProcessingHaul, startProcessingHaul } from './helpers/haul-server.js';
import { localS3 } from './helpers/s3.js';
import { createUpload, encodeMetadata, patch, request, TUS, uploadBuffer } from './helpers/tus.js';
import { expectHistory, historyOf, waitForUpload } from './helpers/uploads-api.js';

/**
 * What processing makes of real files, end to end: the built server, real clamd (EICAR test
 * signature), real sharp, on disk and on S3 (Swift). Every test checks the recorded history
 * (upload_events) and that GET /api/uploads/:id matches the published zod schema. Following an
 * upload's status (headers, SSE): processing-status-api.test.ts.
 */

const MAX_IMAGE_SIZE = 2 ** 20;
const SIGNATURE = 'Eicar-Test-Signature.UNOFFICIAL';
const s3 = localS3();

/** Pixels, in decoded order, of a stored image: is the top half darker in red than the bottom? */
async function redTopVersusBottom(image: Buffer) {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let top = 0;
  let bottom = 0;
  const half = Math.floor(info.height / 2);
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const red = data[(y * info.width + x) * info.channels]!;
      if (y < half) top += red;
      else bottom += red;
    }
  }
  return { top, bottom };
}

/** Whether a raw EXIF block (as sharp's metadata() returns it) has a GPS IFD pointer (tag 0x8825) in IFD0. */
function exifHasGps(exif: Buffer): boolean {
  const tiff = exif.subarray(exif.indexOf('Exif\0\0') === 0 ? 6 : 0);
  const le = tiff.toString('ascii', 0, 2) === 'II';
  const u16 = (o: number) => (le ? tiff.readUInt16LE(o) : tiff.readUInt16BE(o));
  const u32 = (o: number) => (le ? tiff.readUInt32LE(o) : tiff.readUInt32BE(o));
  const ifd0 = u32(4);
  for (let i = 0; i < u16(ifd0); i++) if (u16(ifd0 + 2 + i * 12) === 0x8825) return true;
  return false;
}

type Backend = {
  name: string;
  env: () => Record<string, string>;
  /** Where the upload's bytes live in normal storage / in quarantine: exists? */
  inStorage(server: HaulServer, user: string, id: string): Promise<boolean>;
  inQuarantine(server: HaulServer, user: string, id: string): Promise<boolean>;
};

const s3Exists = (key: string) => s3.head(key).then(() => true, (error: { $metadata?: { httpStatusCode?: number } }) => {
  if (error.$metadata?.httpStatusCode === 404) return false;
  throw error;
});
const s3Prefix = `t-proc-${Date.now().toString(36)}/`;

const backends: Backend[] = [
  {
    name: 'disk',
    env: () => ({}),
    inStorage: (server, user, id) => exists(path.join(server.dataDir, 'files', userStorageKey(user), id)),
    inQuarantine: (server, user, id) => exists(path.join(server.dataDir, 'quarantine', userStorageKey(user), id)),
  },
  {
    name: 'S3 (Swift)',
    env: () => s3.env(s3Prefix),
    inStorage: (_server, user, id) => s3Exists(s3.keyOf(s3Prefix, user, id)),
    inQuarantine: (_server, user, id) => s3Exists(`${s3Prefix}quarantine/${userStorageKey(user)}/${id}`),
  },
];

describe.each(backends)('processing on $name', (backend) => {
  let processing: ProcessingHaul;
  let server: HaulServer;
  let database: FreshDatabase;
  let token: string;
  let otherToken: string;

  beforeAll(async () => {
    ({ server, database } = processing = await startProcessingHaul({ ...backend.env(), MAX_IMAGE_SIZE: String(MAX_IMAGE_SIZE) }));
    [token, otherToken] = await Promise.all([server.token('alice'), server.token('mallory')]);
  });
  afterAll(() => processing?.close());

  const thumbnail = (id: string, size: number | string, bearer = token) =>
    fetch(`${server.url}/api/uploads/${id}/thumbnails/${size}`, { headers: { Authorization: `Bearer ${bearer}` } });

  describe('malware', () => {
    it.each([
      { name: 'plain', data: () => eicarFile(), filename: 'eicar.txt', filetype: 'text/plain' },
      {
        name: 'inside a stored zip',
        data: () => storedZip([{ name: 'readme.txt', data: Buffer.from('nothing to see\n') }, { name: 'tools/eicar.com', data: eicarFile() }]),
        filename: 'archive.zip',
        filetype: 'application/zip',
      },
    ])('EICAR $name → infected with the signature, moved to quarantine, no thumbnails', async ({ data, filename, filetype }) => {
      const { id } = await uploadBuffer(server.tusEndpoint, token, data(), { filename, filetype });
      const upload = await waitForUpload(server, token, id);
      expect(upload).toMatchObject({ status: 'infected', reason: SIGNATURE, scanned: true, sha256: null, thumbnails: [] });
      expect(await backend.inStorage(server, 'alice', id)).toBe(false);
      expect(await backend.inQuarantine(server, 'alice', id)).toBe(true);
      expect((await thumbnail(id, 160)).status).toBe(404);
      expect(await database.sql`SELECT count(*)::int AS n FROM thumbnails WHERE upload_id = ${id}`).toEqual([{ n: 0 }]);
      await expectHistory(database.sql, id, 'infected', SIGNATURE);
    });
  });

  describe('content that is not what it claims', () => {
    it.each([
      {
        name: 'an ELF executable named photo.png',
        data: async () => elfBinary(),
        filename: 'photo.png',
        filetype: 'image/png',
        detected: 'application/x-elf',
        reason: /application\/x-elf/,
      },
      {
        name: 'a PNG named report.pdf',
        data: () => noisePng(64, 48),
        filename: 'report.pdf',
        filetype: 'application/pdf',
        detected: 'image/png',
        reason: /declared as application\/pdf but the content is image\/png/,
      },
      {
        name: 'HTML named page.txt',
        data: async () => htmlFile(),
        filename: 'page.txt',
        filetype: 'text/plain',
        detected: 'text/html',
        reason: /text\/html/,
      },
    ])('$name → refused from its first bytes (415), rejected, the reason naming what it really is', async ({ data, filename, filetype, detected, reason }) => {
      const content = await data();
      // Reject early (tus/content-check.ts): the PATCH carrying its first bytes is refused; nothing is stored or scanned.
      const { id, url } = await createUpload(server.tusEndpoint, token, { length: content.length, metadata: { filename, filetype } });
      const refused = await patch(url, token, 0, content);
      expect([refused.status, refused.json().code]).toEqual([415, 'FILE_NOT_ACCEPTED']);
      expect(refused.json().message).toMatch(reason);
      const upload = await waitForUpload(server, token, id);
      expect(upload).toMatchObject({ status: 'rejected', detectedType: detected, declaredType: filetype, scanned: false, thumbnails: [] });
      expect(await backend.inStorage(server, 'alice', id)).toBe(false);
      expect(upload.reason).toMatch(reason);
      expect((await thumbnail(id, 160)).status).toBe(404);
      // Never received nor processed: rejected straight from uploading.
      expect((await historyOf(database.sql, id)).map((h) => [h.status, h.reason])).toEqual([['rejected', expect.stringMatching(reason)]]);
    });
  });

  describe('images', () => {
    it('a JPEG with EXIF orientation 6 and GPS → ready, three upright WebP previews without metadata', async () => {
      const jpeg = await orientedJpegWithGps(640, 480);
      // The fixture really is what it should be: stored landscape, orientation 6, EXIF with GPS.
      const source = await sharp(jpeg).metadata();
      expect(source).toMatchObject({ format: 'jpeg', width: 640, height: 480, orientation: 6 });
      expect(source.exif && exifHasGps(source.exif)).toBe(true);

      const { id } = await uploadBuffer(server.tusEndpoint, token, jpeg, { filename: 'IMG_0001.JPG', filetype: 'image/jpeg' });
      const upload = await waitForUpload(server, token, id);
      expect(upload).toMatchObject({ status: 'ready', reason: null, detectedType: 'image/jpeg', scanned: true });
      // STRIP_LOCATION (on by default): the original is served without GPS, and its recorded
      // SHA-256 is the hash of the bytes served, not of those uploaded.
      const served = Buffer.from(await (await fetch(new URL(upload.contentUrl!, server.url), { headers: { Authorization: `Bearer ${token}` } })).arrayBuffer());
      expect(served.length).toBe(jpeg.length);
      expect(upload.sha256).toBe(sha256(served));
      expect(upload.sha256).not.toBe(sha256(jpeg));
      const servedMeta = await sharp(served).metadata();
      expect(servedMeta.orientation).toBe(6);
      expect(servedMeta.exif && exifHasGps(servedMeta.exif)).toBe(false);
      expect(upload.media).toEqual({ width: 480, height: 640, durationMs: null, pages: null, placeholder: expect.stringMatching(/^[A-Za-z0-9+/]{20,}={0,2}$/) });
      // Long side 160 / 480 / 1280, never enlarged; portrait, because orientation 6 is applied.
      expect(upload.thumbnails).toEqual([
        { size: 160, width: 120, height: 160, url: `/api/uploads/${id}/thumbnails/160` },
        { size: 480, width: 360, height: 480, url: `/api/uploads/${id}/thumbnails/480` },
        { size: 1280, width: 480, height: 640, url: `/api/uploads/${id}/thumbnails/1280` },
      ]);
      for (const t of upload.thumbnails) {
        const response = await fetch(new URL(t.url, server.url), { headers: { Authorization: `Bearer ${token}` } });
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('image/webp');
        expect(response.headers.get('cache-control')).toMatch(/\bimmutable\b/);
        expect(response.headers.get('cache-control')).toMatch(/max-age=\d{7,}/);
        const body = Buffer.from(await response.arrayBuffer());
        expect(Number(response.headers.get('content-length'))).toBe(body.length);
        const meta = await sharp(body).metadata();
        expect(meta).toMatchObject({ format: 'webp', width: t.width, height: t.height });
        expect(meta.width).toBeLessThan(meta.height); // rotated: stored 640×480, preview upright
        expect(meta.exif).toBeUndefined();
        expect(meta.orientation).toBeUndefined();
        expect(meta.xmp).toBeUndefined();
        // Rotated 90° clockwise: the stored image's dark-red left edge is now the top.
        const { top, bottom } = await redTopVersusBottom(body);
        expect(top).toBeLessThan(bottom);
      }
      expect((await thumbnail(id, 999)).status).toBe(404);
      expect((await thumbnail(id, 160, otherToken)).status).toBe(404);
      await expectHistory(database.sql, id, 'ready', null);
    });

    it('a decompression-bomb PNG (200000×200000 declared) → rejected within seconds', async () => {
      const bomb = decompressionBombPng(200_000, 200_000);
      expect(bomb.length).toBeLessThan(1024);
      const { id, finishedAt } = await uploadBuffer(server.tusEndpoint, token, bomb, { filename: 'bomb.png', filetype: 'image/png' });
      const upload = await waitForUpload(server, token, id);
      expect(Date.now() - finishedAt).toBeLessThan(5_000);
      expect(upload).toMatchObject({ status: 'rejected', detectedType: 'image/png', thumbnails: [] });
      expect(upload.reason).toMatch(/exceed .*pixels/);
      const history = await expectHistory(database.sql, id, 'rejected', /pixels/);
      expect(history[2]!.at.getTime() - history[1]!.at.getTime()).toBeLessThan(5_000);
    });

    it('a truncated JPEG → rejected as corrupt', async () => {
      const { id } = await uploadBuffer(server.tusEndpoint, token, await truncatedJpeg(), { filename: 'half.jpg', filetype: 'image/jpeg' });
      const upload = await waitForUpload(server, token, id);
      expect(upload).toMatchObject({ status: 'rejected', detectedType: 'image/jpeg', thumbnails: [] });
      expect(upload.reason).toMatch(/corrupt or truncated/);
      await expectHistory(database.sql, id, 'rejected', /corrupt or truncated/);
    });

    it('a HEIC file → ready without previews, saying why', async () => {
      const { id } = await uploadBuffer(server.tusEndpoint, token, heicLike(), { filename: 'IMG_0002.HEIC', filetype: 'image/heic' });
      const upload = await waitForUpload(server, token, id);
      expect(upload).toMatchObject({ status: 'ready', detectedType: 'image/heic', scanned: true, thumbnails: [] });
      expect(upload.reason).toMatch(/no preview/);
      expect((await thumbnail(id, 160)).status).toBe(404);
      await expectHistory(database.sql, id, 'ready', /no preview/);
    });

    it('a PNG larger than MAX_IMAGE_SIZE → refused at creation if declared an image (413), else rejected by processing', async () => {
      const png = await noisePng(800, 600);
      expect(png.length).toBeGreaterThan(MAX_IMAGE_SIZE);
      const declared = await request({
        method: 'POST', url: server.tusEndpoint, token,
        headers: { ...TUS, 'Upload-Length': png.length, 'Upload-Metadata': encodeMetadata({ filename: 'big.png', filetype: 'image/png' }) },
      });
      expect([declared.status, declared.json().code]).toEqual([413, 'UPLOAD_TOO_LARGE']);
      const { id } = await uploadBuffer(server.tusEndpoint, token, png, { filename: 'big.png' });
      const upload = await waitForUpload(server, token, id);
      expect(upload).toMatchObject({ status: 'rejected', detectedType: 'image/png', thumbnails: [] });
      expect(upload.reason).toContain(`at most ${MAX_IMAGE_SIZE} bytes`);
      await expectHistory(database.sql, id, 'rejected', /at most/);
    });
  });

  it('a CSV → ready as text/csv, scanned, with its SHA-256', async () => {
    const csv = csvFile();
    const { id } = await uploadBuffer(server.tusEndpoint, token, csv, { filename: 'numbers.csv', filetype: 'text/csv' });
    const upload = await waitForUpload(server, token, id);
    expect(upload).toMatchObject({
      status: 'ready', reason: null, detectedType: 'text/csv', declaredType: 'text/csv', filename: 'numbers.csv',
      size: csv.length, offset: csv.length, scanned: true, sha256: sha256(csv), thumbnails: [],
    });
    expect(upload.processedAt).not.toBeNull();
    expect(Date.parse(upload.processedAt!)).toBeGreaterThanOrEqual(Date.parse(upload.finishedAt!));
    expect(await backend.inStorage(server, 'alice', id)).toBe(true);
    await expectHistory(database.sql, id, 'ready', null);
  });
});
