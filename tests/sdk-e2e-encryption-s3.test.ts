import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createHaulClient, HaulError, type HaulClient, type NodeUploadInput, SEALED_RECORD_SIZE } from '@haul/client/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { localS3 } from './helpers/s3.js';

/**
 * Downloads of end-to-end encrypted uploads stored on S3 (the local Swift), where the server
 * answers `GET /api/uploads/:id/content` with a 302 to a presigned URL: the SDK follows it with
 * its Range (the bearer token stays behind: the presigned URL is its own authorization), and still
 * opens the bytes record by record — the whole file, a range, and a record changed in the bucket.
 */

const MiB = 2 ** 20;
const s3 = localS3();
const prefix = `t-e2e-s3-${randomBytes(4).toString('hex')}/`;
const USER = 'e2e-s3-erin';
const key = new Uint8Array(randomBytes(32));
let server: HaulServer;
let client: HaulClient<NodeUploadInput>;
let token: string;
let dir: string;

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  return Buffer.from(await new Response(stream).arrayBuffer());
}

async function storedObject(uploadId: string): Promise<Buffer> {
  const object = await s3.client.getObject({ Bucket: s3.bucket, Key: s3.keyOf(prefix, USER, uploadId) });
  const chunks: Buffer[] = [];
  for await (const chunk of object.Body as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-e2e-s3-'));
  server = await startHaul({ env: { ...s3.env(prefix), S3_PART_SIZE: '5MiB', WORKER: 'embedded', SCAN_MODE: 'off' } });
  token = await server.token(USER);
  client = createHaulClient({ endpoint: server.tusEndpoint, getToken: () => token, cacheDir: dir, retry: { initialDelayMs: 50, maxDelayMs: 500 } });
});

afterAll(async () => {
  await server?.stop();
  // Leave the shared bucket as we found it.
  const keys = await s3.listKeys(prefix);
  if (keys.length > 0) await s3.client.deleteObjects({ Bucket: s3.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } });
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

describe('encrypted uploads stored on S3: downloads through the presigned redirect', () => {
  it('the whole file and a range decrypt after the 302; a record changed in the bucket fails by index', { timeout: 300_000 }, async () => {
    const marker = Buffer.from(`S3-PLAINTEXT-MARKER-${randomBytes(6).toString('hex')}`, 'latin1');
    const plaintext = randomBytes(3 * MiB + 4321);
    for (let at = 0; at + marker.length < plaintext.length; at += 8192) marker.copy(plaintext, at);
    const file = path.join(dir, 'secret.bin');
    await fsp.writeFile(file, plaintext);

    const upload = await client.upload(file, { encryption: { key } }).result;
    expect(upload).toMatchObject({ status: 'ready', encrypted: true, scanned: false });
    const stored = await storedObject(upload.id);
    expect(stored.length).toBe(upload.size);
    expect(stored.includes(marker)).toBe(false);

    // The server does redirect (else this test would not be about S3 downloads).
    const redirect = await fetch(`${server.url}/api/uploads/${upload.id}/content`, { headers: { Authorization: `Bearer ${token}` }, redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(new URL(redirect.headers.get('location')!).origin).toBe(new URL(s3.env().S3_ENDPOINT).origin);

    expect((await bytesOf(await client.download(upload.id, { encryption: { key } }))).equals(plaintext)).toBe(true);
    // A range across a record boundary, and one inside the last record: the covering records only.
    const across = { start: 3 * 65_536 - 10, end: 5 * 65_536 + 10 };
    expect((await bytesOf(await client.download(upload.id, { encryption: { key }, range: across }))).equals(plaintext.subarray(across.start, across.end))).toBe(true);
    const tail = { start: plaintext.length - 100 };
    expect((await bytesOf(await client.download(upload.id, { encryption: { key }, range: tail }))).equals(plaintext.subarray(tail.start))).toBe(true);

    // One byte of record 20 changed in the bucket: records 0–19 come out, record 20 fails by index.
    const tampered = Buffer.from(stored);
    tampered[20 * SEALED_RECORD_SIZE + 1234]! ^= 0x20;
    await s3.client.putObject({ Bucket: s3.bucket, Key: s3.keyOf(prefix, USER, upload.id), Body: tampered });
    const reader = (await client.download(upload.id, { encryption: { key } })).getReader();
    let delivered = 0;
    let failure: unknown;
    try {
      for (let read = await reader.read(); !read.done; read = await reader.read()) delivered += read.value.length;
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(HaulError);
    expect(failure).toMatchObject({ code: 'DECRYPTION_FAILED' });
    expect((failure as HaulError).message).toMatch(/record 20 failed authentication/);
    expect(delivered).toBe(20 * 65_536);
    // The range that ends before record 20 still decrypts.
    const before = { start: 0, end: 20 * 65_536 };
    expect((await bytesOf(await client.download(upload.id, { encryption: { key }, range: before }))).equals(plaintext.subarray(0, before.end))).toBe(true);
  });
});
