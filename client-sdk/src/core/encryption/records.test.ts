import { describe, expect, it } from 'vitest';
import { HaulError } from '../errors.js';
import { randomBytes } from './cipher.js';
import { previewPrefix, RECORD_SIZE, SEALED_RECORD_SIZE } from './format.js';
import { newFileKey } from './keys.js';
import { sealAll, sealedObject, sealRange, sealRangeJoined } from './records.js';

const appKey = new Uint8Array(32).fill(9);
const sample = (size: number, salt = 0) => Uint8Array.from({ length: size }, (_, i) => (i * 13 + salt + (i >> 9)) & 0xff);
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** An object of `fileSize` plaintext bytes, with a preview stream of `previewBytes` plaintext bytes (0: none). */
async function objectOf(fileSize: number, previewBytes = 0, read?: (plaintext: Uint8Array, start: number, end: number) => Uint8Array) {
  const plaintext = sample(fileSize);
  const key = await newFileKey(appKey);
  const prefix = await randomBytes(7);
  const sealedPreview = previewBytes > 0 ? await sealAll(key.aes.cipher(previewPrefix(prefix)), sample(previewBytes, 5)) : null;
  return sealedObject({
    previewSize: sealedPreview?.length ?? 0,
    sealedPreview,
    fileSize,
    fileCipher: key.aes.cipher(prefix),
    read: async (start, end) => (read ? read(plaintext, start, end) : plaintext.slice(start, end)),
  });
}

describe('sealing a request body into one buffer (sealRangeJoined)', () => {
  it('gives the bytes sealRange gives, for ranges across pieces, inside records, and across the preview stream', async () => {
    // 70 records, read 32 at a time (more than two reads), the last record short.
    const object = await objectOf(69 * RECORD_SIZE + 1234, 3 * RECORD_SIZE + 10);
    const { previewSize, size } = object;
    const ranges: Array<[number, number]> = [
      [0, size],
      [0, 7],
      [5, previewSize],
      [previewSize - 3, previewSize + 40],
      [previewSize, previewSize + 32 * SEALED_RECORD_SIZE],
      [previewSize + 100_001, previewSize + 40 * SEALED_RECORD_SIZE + 17],
      [previewSize + 31 * SEALED_RECORD_SIZE + 9, size],
      [size - 1, size],
    ];
    for (const [start, end] of ranges) {
      const expected = await sealRange(object, start, end);
      for (const recordsPerRead of [32, 256]) {
        const joined = await sealRangeJoined(object, start, end, recordsPerRead);
        expect(joined.length).toBe(end - start);
        expect(same(joined, expected)).toBe(true);
      }
    }
  });

  it('seals an empty file as its one empty last record', async () => {
    const object = await objectOf(0);
    expect(object.size).toBe(16);
    expect(same(await sealRangeJoined(object, 0, 16), await sealRange(object, 0, 16))).toBe(true);
  });

  it('fails when the input no longer has the bytes it had (changed while uploaded)', async () => {
    const object = await objectOf(40 * RECORD_SIZE, 0, (plaintext, start, end) => plaintext.slice(start, Math.min(end, 35 * RECORD_SIZE)));
    const error = await sealRangeJoined(object, 0, object.size).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HaulError);
    expect((error as HaulError).code).toBe('INVALID_INPUT');
    expect((error as HaulError).message).toMatch(/changed while it was uploaded/);
  });
});
