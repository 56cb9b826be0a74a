import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDiskStorage } from '../storage/disk-storage.js';
import type { Storage } from '../storage/storage.js';
import { hasGps, tiffStart } from './media/exif.js';
import { stripStoredLocation } from './strip-stored-location.js';

/** STRIP_LOCATION on real disk storage: the stored file itself changes, once, atomically. */

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A phone-like JPEG: EXIF orientation 6 and a GPS position. */
const jpegWithGps = () =>
  sharp({ create: { width: 64, height: 48, channels: 3, background: '#c04020' } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .withExif({ IFD0: { Make: 'Apple' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2958/100' } })
    .toBuffer();

describe('stripStoredLocation', () => {
  let dir: string;
  let storage: Storage;
  const key = 'user/file-1';
  const stored = () => fs.readFile(path.join(dir, 'files', key));

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-strip-'));
    storage = await createDiskStorage(dir, 60_000);
    await fs.mkdir(path.join(dir, 'files', 'user'), { recursive: true });
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('rewrites the stored JPEG without GPS and returns the hash of what is now served; a second run changes nothing', async () => {
    const original = await jpegWithGps();
    await fs.writeFile(path.join(dir, 'files', key), original);
    const first = await stripStoredLocation({ storage, storageKey: key, detectedType: 'image/jpeg', originalSha256: sha256(original) });
    const served = await stored();
    expect(first).toEqual({ kind: 'stripped', sha256: sha256(served), size: original.length, locationFound: true });
    expect(served.equals(original)).toBe(false);
    const exif = (await sharp(served).metadata()).exif!;
    expect(hasGps(exif.subarray(tiffStart(exif)))).toBe(false);

    // A retried job (the worker died after the replace, before recording): same bytes, same hash, no rewrite.
    const { mtimeMs } = await fs.stat(path.join(dir, 'files', key));
    const again = await stripStoredLocation({ storage, storageKey: key, detectedType: 'image/jpeg', originalSha256: sha256(served) });
    expect(again).toEqual({ kind: 'stripped', sha256: sha256(served), size: served.length, locationFound: false });
    expect((await fs.stat(path.join(dir, 'files', key))).mtimeMs).toBe(mtimeMs);
    expect(await fs.readdir(path.join(dir, 'files', 'user'))).toEqual(['file-1']); // no temporary file left beside it
  });

  it('a copy a crash left before its rename goes when the upload is removed', async () => {
    await fs.writeFile(path.join(dir, 'files', key), Buffer.from('stored'));
    await fs.writeFile(path.join(dir, 'files', `${key}.json`), JSON.stringify({ id: key, size: 6, offset: 6 })); // tus FileStore's record
    await fs.writeFile(path.join(dir, 'files', `${key}.replacing`), Buffer.from('half a copy'));
    await storage.remove(key);
    expect(await fs.readdir(path.join(dir, 'files', 'user'))).toEqual([]);
  });

  it('leaves formats without a location editor alone', async () => {
    expect(await stripStoredLocation({ storage, storageKey: key, detectedType: 'video/mp4', originalSha256: 'x' })).toEqual({ kind: 'not-applicable' });
  });

  it('fails closed on a structure it cannot follow, and leaves the stored file as it was', async () => {
    // A JPEG whose APP1 segment claims more bytes than the file has.
    const broken = Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0xff, 0xf0, ...Buffer.from('Exif\0\0II*\0')]);
    await fs.writeFile(path.join(dir, 'files', key), broken);
    const outcome = await stripStoredLocation({ storage, storageKey: key, detectedType: 'image/jpeg', originalSha256: sha256(broken) });
    expect(outcome).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/^location metadata could not be removed/) });
    expect((await stored()).equals(broken)).toBe(true);
  });

  it('a storage failure is thrown (the job is retried), not blamed on the file', async () => {
    await expect(stripStoredLocation({ storage, storageKey: 'user/missing', detectedType: 'image/jpeg', originalSha256: 'x' })).rejects.toThrow(/ENOENT/);
  });
});
