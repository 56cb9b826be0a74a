import { createHash } from 'node:crypto';
import type { HttpStack } from 'tus-js-client';
import { describe, expect, it } from 'vitest';
import { ChecksumHttpStack } from '../checksum-http-stack.js';
import { HaulError } from '../errors.js';
import { MIN_PART_SIZE } from '../parallel.js';
import { recordAlignedParts, SealedInput, sealedFileReader } from './encrypted-upload.js';
import { importAesKey, randomBytes } from './cipher.js';
import { coveringRecords, plaintextSizeOf, previewPrefix, RECORD_SIZE, SEALED_RECORD_SIZE, sealedSize, TAG_SIZE } from './format.js';
import { type FileKey, newFileKey, openFileKey } from './keys.js';
import { openRecords, sealedObject, sealRange } from './records.js';

const appKey = new Uint8Array(32).fill(7);

async function seal(plaintext: Uint8Array, fileKey?: FileKey, prefix?: Uint8Array) {
  const key = fileKey ?? (await newFileKey(appKey));
  const noncePrefix = prefix ?? (await randomBytes(7));
  const object = sealedObject({
    previewSize: 0,
    sealedPreview: null,
    fileSize: plaintext.length,
    fileCipher: key.aes.cipher(noncePrefix),
    read: async (start, end) => plaintext.slice(start, end),
  });
  // Sealed in uneven slices, as resumed PATCHes would ask for them.
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < object.size; at += 50_000) pieces.push(await sealRange(object, at, Math.min(object.size, at + 50_000)));
  const stored = new Uint8Array(object.size);
  let at = 0;
  for (const piece of pieces) {
    stored.set(piece, at);
    at += piece.length;
  }
  return { stored, key, noncePrefix };
}

const streamOf = (bytes: Uint8Array, chunk = 10_000) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < bytes.length; at += chunk) controller.enqueue(bytes.slice(at, at + chunk));
      controller.close();
    },
  });

async function open(stored: Uint8Array, key: FileKey, prefix: Uint8Array, start = 0, end?: number): Promise<Uint8Array> {
  const plaintextSize = plaintextSizeOf(stored.length);
  const layout = { start: 0, plaintextSize };
  const to = end ?? plaintextSize;
  const covering = coveringRecords(layout, start, to);
  const body = streamOf(stored.subarray(covering.from, covering.to));
  const chunks: Uint8Array[] = [];
  const reader = openRecords(key.aes.cipher(prefix), layout, start, to, body).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

const failure = async (promise: Promise<unknown>): Promise<HaulError> => {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(HaulError);
    return error as HaulError;
  }
  throw new Error('expected a failure');
};

/** Byte equality without vitest's element-by-element diff (slow on large arrays). */
const same = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

const sample = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + (i >> 8)) & 0xff);

describe('end-to-end encryption format v1', () => {
  it('knows the stored size from the plaintext size, and back', () => {
    for (const size of [0, 1, RECORD_SIZE - 1, RECORD_SIZE, RECORD_SIZE + 1, 5 * RECORD_SIZE, 10 * 2 ** 30]) {
      expect(plaintextSizeOf(sealedSize(size))).toBe(size);
    }
    expect(sealedSize(0)).toBe(TAG_SIZE);
    expect(sealedSize(RECORD_SIZE + 1)).toBe(SEALED_RECORD_SIZE + 1 + TAG_SIZE);
    expect(() => plaintextSizeOf(SEALED_RECORD_SIZE + 5)).toThrow(/truncated/);
  });

  it.each([0, 1, RECORD_SIZE - 1, RECORD_SIZE, RECORD_SIZE + 1, 3 * RECORD_SIZE + 5])('round-trips %i bytes', async (size) => {
    const plaintext = sample(size);
    const { stored, key, noncePrefix } = await seal(plaintext);
    expect(stored.length).toBe(sealedSize(size));
    expect(same(await open(stored, key, noncePrefix), plaintext)).toBe(true);
  });

  it('opens a range from the records that cover it', async () => {
    const plaintext = sample(3 * RECORD_SIZE + 5);
    const { stored, key, noncePrefix } = await seal(plaintext);
    expect(same(await open(stored, key, noncePrefix, RECORD_SIZE - 3, 2 * RECORD_SIZE + 10), plaintext.slice(RECORD_SIZE - 3, 2 * RECORD_SIZE + 10))).toBe(true);
    expect(same(await open(stored, key, noncePrefix, 3 * RECORD_SIZE + 4, 3 * RECORD_SIZE + 5), plaintext.slice(-1))).toBe(true);
  });

  it('unwraps the file key with the same application key only', async () => {
    const fileKey = await newFileKey(appKey);
    const header = { key: fileKey.wrapped, wrap: fileKey.wrap };
    const { stored, noncePrefix } = await seal(sample(1000), fileKey);
    expect(same(await open(stored, await openFileKey(appKey, header), noncePrefix), sample(1000))).toBe(true);
    const wrong = await failure(openFileKey(new Uint8Array(32).fill(8), header));
    expect(wrong.code).toBe('DECRYPTION_FAILED');
    expect(wrong.message).toMatch(/wrong key/);
  });

  it('seals the same plaintext twice into different bytes (fresh key and prefix)', async () => {
    const a = await seal(sample(5000));
    const b = await seal(sample(5000));
    expect(Buffer.from(a.stored).equals(Buffer.from(b.stored))).toBe(false);
    expect(a.key.wrapped).not.toBe(b.key.wrapped);
  });

  it('re-seals a record identically from the same key and prefix (resume)', async () => {
    const fileKey = await newFileKey(appKey);
    const prefix = await randomBytes(7);
    const a = await seal(sample(2 * RECORD_SIZE), fileKey, prefix);
    const b = await seal(sample(2 * RECORD_SIZE), fileKey, prefix);
    expect(same(b.stored, a.stored)).toBe(true);
    expect(previewPrefix(prefix)).not.toEqual(prefix);
  });

  describe('detects tampering with the record index', () => {
    const size = 3 * RECORD_SIZE + 100;
    it('a flipped byte', async () => {
      const { stored, key, noncePrefix } = await seal(sample(size));
      stored[SEALED_RECORD_SIZE + 17]! ^= 1;
      expect((await failure(open(stored, key, noncePrefix))).message).toMatch(/record 1 failed authentication/);
    });
    it('a dropped record', async () => {
      const { stored, key, noncePrefix } = await seal(sample(size));
      const dropped = new Uint8Array([...stored.subarray(0, SEALED_RECORD_SIZE), ...stored.subarray(2 * SEALED_RECORD_SIZE)]);
      expect((await failure(open(dropped, key, noncePrefix))).message).toMatch(/record 1 failed authentication/);
    });
    it('swapped records', async () => {
      const { stored, key, noncePrefix } = await seal(sample(size));
      const r0 = stored.slice(0, SEALED_RECORD_SIZE);
      const r1 = stored.slice(SEALED_RECORD_SIZE, 2 * SEALED_RECORD_SIZE);
      stored.set(r1, 0);
      stored.set(r0, SEALED_RECORD_SIZE);
      expect((await failure(open(stored, key, noncePrefix))).message).toMatch(/record 0 failed authentication/);
    });
    it('a file truncated at a record boundary', async () => {
      const { stored, key, noncePrefix } = await seal(sample(size));
      expect((await failure(open(stored.subarray(0, 2 * SEALED_RECORD_SIZE), key, noncePrefix))).message).toMatch(/record 1 failed authentication/);
    });
    it('a stream that ends early', async () => {
      const { stored, key, noncePrefix } = await seal(sample(size));
      const layout = { start: 0, plaintextSize: size };
      const reader = openRecords(key.aes.cipher(noncePrefix), layout, 0, size, streamOf(stored.subarray(0, SEALED_RECORD_SIZE + 10))).getReader();
      expect((await reader.read()).value?.length).toBe(RECORD_SIZE);
      expect((await failure(reader.read())).message).toMatch(/record 1 is truncated/);
    });
    it('a body that breaks off (connection cut, or an object shorter than its Content-Length)', async () => {
      const { stored, key, noncePrefix } = await seal(sample(size));
      let sent = false;
      const broken = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent) return controller.error(new TypeError('terminated'));
          sent = true;
          controller.enqueue(stored.slice(0, SEALED_RECORD_SIZE + 10));
        },
      });
      const reader = openRecords(key.aes.cipher(noncePrefix), { start: 0, plaintextSize: size }, 0, size, broken).getReader();
      expect((await reader.read()).value?.length).toBe(RECORD_SIZE);
      const error = await failure(reader.read());
      expect(error).toMatchObject({ code: 'NETWORK_ERROR', retryable: true });
      expect(error.message).toMatch(/broke off in record 1 \(terminated\)/);
    });
    it('a wrong nonce prefix (another file spliced in)', async () => {
      const { stored, key } = await seal(sample(size));
      expect((await failure(open(stored, key, new Uint8Array(7)))).message).toMatch(/record 0 failed authentication/);
    });
  });
});

describe('parallel parts of an encrypted upload', () => {
  it('cut between sealed records, each but the last at least MIN_PART_SIZE, covering the object', () => {
    const previewSize = 1234;
    const size = previewSize + sealedSize(40 * 2 ** 20 + 5);
    const parts = recordAlignedParts({ size, previewSize }, 4);
    expect(parts).toHaveLength(4);
    expect(parts[0]!.start).toBe(0);
    expect(parts.at(-1)!.end).toBe(size);
    for (let i = 1; i < parts.length; i++) {
      expect(parts[i]!.start).toBe(parts[i - 1]!.end);
      expect((parts[i]!.start - previewSize) % SEALED_RECORD_SIZE).toBe(0);
    }
    for (const part of parts.slice(0, -1)) expect(part.end - part.start).toBeGreaterThanOrEqual(MIN_PART_SIZE);
    expect(recordAlignedParts({ size: sealedSize(6 * 2 ** 20), previewSize: 0 }, 4)).toEqual([{ start: 0, end: sealedSize(6 * 2 ** 20) }]);
  });
});

describe('multi-GiB files (streamed, never in memory)', () => {
  it('seals and opens a range beyond 4 GiB of a 6 GiB file from its own offsets', async () => {
    const size = 6 * 2 ** 30 + 123;
    // The "file": each byte a function of its position, generated on demand.
    const byteAt = (position: number) => (position * 7 + Math.floor(position / 65_521)) & 0xff;
    const read = async (start: number, end: number) => Uint8Array.from({ length: end - start }, (_, i) => byteAt(start + i));
    const key = await newFileKey(appKey);
    const prefix = await randomBytes(7);
    const object = sealedObject({ previewSize: 0, sealedPreview: null, fileSize: size, fileCipher: key.aes.cipher(prefix), read });
    expect(object.size).toBe(sealedSize(size));
    const layout = { start: 0, plaintextSize: size };
    for (const [start, end] of [[5 * 2 ** 30 - 10, 5 * 2 ** 30 + 70_000], [size - 100, size]] as const) {
      const covering = coveringRecords(layout, start, end);
      expect(covering.last).toBeGreaterThan(65_536);
      // What a resumed PATCH from the middle of a record would send, then what a ranged GET returns.
      const sealed = await sealRange(object, covering.from, covering.to);
      const opened = openRecords(key.aes.cipher(prefix), layout, start, end, streamOf(sealed, 30_000));
      expect(same(new Uint8Array(await new Response(opened).arrayBuffer()), await read(start, end))).toBe(true);
    }
  });
});

describe('the two AES-GCM engines', () => {
  it('node:crypto and WebCrypto seal records identically and open each other\'s', async () => {
    const raw = await randomBytes(32);
    const prefix = await randomBytes(7);
    const node = (await importAesKey(raw, 'node')).cipher(prefix);
    const web = (await importAesKey(raw)).cipher(prefix);
    for (const size of [0, 1, RECORD_SIZE]) {
      const plaintext = sample(size);
      const sealed = await node.seal(3, size === RECORD_SIZE, plaintext);
      expect(same(await web.seal(3, size === RECORD_SIZE, plaintext), sealed)).toBe(true);
      expect(same(await web.open(3, size === RECORD_SIZE, sealed), plaintext)).toBe(true);
      expect(same(await node.open(3, size === RECORD_SIZE, sealed), plaintext)).toBe(true);
      const flipped = sealed.slice();
      flipped[0]! ^= 1;
      expect((await failure(node.open(3, size === RECORD_SIZE, flipped))).message).toMatch(/record 3 failed authentication/);
    }
  });
});

describe('the sealed file reader tus-js-client uploads from', () => {
  it('gives the sealed bytes of each request, prefetching the next, and seals again from any offset', async () => {
    const plaintext = sample(5 * RECORD_SIZE + 77);
    const key = await newFileKey(appKey);
    const cipher = key.aes.cipher(await randomBytes(7));
    const object = sealedObject({ previewSize: 0, sealedPreview: null, fileSize: plaintext.length, fileCipher: cipher, read: async (s, e) => plaintext.slice(s, e) });
    const whole = await sealRange(object, 0, object.size);
    const joined = (pieces: Uint8Array[]) => new Uint8Array(Buffer.concat(pieces));
    const source = await sealedFileReader.openFile(new SealedInput(object, 0, object.size, { wholeBody: joined }), 100_000);
    const chunk = 100_000;
    for (let at = 0; at < object.size; at += chunk) {
      const { value, done } = await source.slice(at, at + chunk);
      expect(same(value as Uint8Array, whole.slice(at, at + chunk))).toBe(true);
      expect(done).toBe(at + chunk >= object.size);
    }
    // A resume from an offset inside a record (not the prefetched range).
    const { value } = await source.slice(123_457, 200_000);
    expect(same(value as Uint8Array, whole.slice(123_457, 200_000))).toBe(true);
  });

  it('with checksums on, hands each request one buffer whose digest is computed while the previous is sent', async () => {
    const plaintext = sample(4 * RECORD_SIZE + 5);
    const key = await newFileKey(appKey);
    const object = sealedObject({ previewSize: 0, sealedPreview: null, fileSize: plaintext.length, fileCipher: key.aes.cipher(await randomBytes(7)), read: async (s, e) => plaintext.slice(s, e) });
    const whole = await sealRange(object, 0, object.size);
    const hashed: number[] = [];
    const sha256 = async (bytes: Uint8Array) => {
      hashed.push(bytes.length);
      return new Uint8Array(createHash('sha256').update(bytes).digest());
    };
    const bodies: Uint8Array[][] = [];
    const wholeBody = (pieces: Uint8Array[]) => {
      bodies.push(pieces);
      return new Uint8Array(Buffer.concat(pieces));
    };
    const source = await sealedFileReader.openFile(new SealedInput(object, 0, object.size, { wholeBody, sha256 }), 2 * SEALED_RECORD_SIZE);
    const first = await source.slice(0, 2 * SEALED_RECORD_SIZE);
    // The first request's body hashed as it was sealed (the second's is being sealed and hashed ahead).
    expect(hashed[0]).toBe(2 * SEALED_RECORD_SIZE);
    expect(bodies.every((pieces) => pieces.length === 1)).toBe(true);
    expect(same(first.value as Uint8Array, whole.slice(0, 2 * SEALED_RECORD_SIZE))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const hashedBeforeSend = hashed.length;
    const headers: Record<string, string> = {};
    const inner = { getName: () => 'recording', createRequest: () => ({ setHeader: (name: string, value: string) => void (headers[name] = value), send: async () => ({}) }) } as unknown as HttpStack;
    await new ChecksumHttpStack(inner, sha256).createRequest('PATCH', 'u').send(first.value);
    expect(headers['Upload-Checksum']).toBe(`sha256 ${createHash('sha256').update(whole.subarray(0, 2 * SEALED_RECORD_SIZE)).digest('base64')}`);
    expect(hashed).toHaveLength(hashedBeforeSend); // not read again by the checksum stack
  });
});
