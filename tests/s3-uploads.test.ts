import * as tus from 'tus-js-client';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { randomFile, type RandomFile } from './helpers/random-file.js';
import { localS3 } from './helpers/s3.js';
import { createUpload, headUpload, patchFromFile, patchRemaining } from './helpers/tus-requests.js';

const MiB = 2 ** 20;
const s3 = localS3();
const prefix = `t-uploads-${Date.now().toString(36)}/`;

/** Every upload path, on a real S3 API (OpenStack Swift), checking the final object's bytes. */
describe('uploads on S3 (Swift)', () => {
  let server: HaulServer;
  let token: string;
  let big: RandomFile;

  beforeAll(async () => {
    server = await startHaul({ env: s3.env(prefix) });
    token = await server.token('alice');
    big = await randomFile(50 * MiB);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const objectKey = (id: string) => s3.keyOf(prefix, 'alice', id);
  const session = () => ({ endpoint: server.tusEndpoint, token });

  it('takes 50 MiB in 8 MiB chunks', async () => {
    const { url, id } = await createUpload(session(), { length: big.size });
    expect(await patchRemaining(url, token, big.path, big.size, 8 * MiB)).toBe(big.size);
    expect(await s3.sha256(objectKey(id))).toBe(big.sha256);
  });

  it('takes 50 MiB as one PATCH', async () => {
    const { url, id } = await createUpload(session(), { length: big.size });
    const result = await patchFromFile(url, token, big.path, { start: 0, end: big.size });
    expect(result).toMatchObject({ status: 204, offset: big.size });
    expect(await s3.sha256(objectKey(id))).toBe(big.sha256);
  });

  it('takes chunks below the 5 MiB minimum part size', async () => {
    const file = await randomFile(13 * MiB + 12345);
    const { url, id } = await createUpload(session(), { length: file.size });
    // 3 MiB PATCHes: each ends mid-part, so S3Store keeps the tail as an incomplete part.
    expect(await patchRemaining(url, token, file.path, file.size, 3 * MiB)).toBe(file.size);
    expect(await s3.sha256(objectKey(id))).toBe(file.sha256);
    // Nothing but the object and its .info remain.
    expect(await s3.listKeys(objectKey(id))).toEqual([objectKey(id), `${objectKey(id)}.info`]);
  });

  it('works with tus-js-client', async () => {
    const file = await randomFile(9 * MiB);
    const url = await new Promise<string>((resolve, reject) => {
      const upload = new tus.Upload(fs.createReadStream(file.path), {
        endpoint: server.tusEndpoint,
        uploadSize: file.size,
        chunkSize: 6 * MiB,
        headers: { Authorization: `Bearer ${token}` },
        metadata: { filename: 'clip.bin', filetype: 'application/octet-stream' },
        retryDelays: [],
        onError: reject,
        onSuccess: () => resolve(upload.url!),
      });
      upload.start();
    });
    expect(await s3.sha256(objectKey(url.split('/').pop()!))).toBe(file.sha256);
  });

  it('stores zero-byte uploads as empty objects', async () => {
    const { url, id } = await createUpload(session(), { length: 0, metadata: { filename: 'empty.txt', filetype: 'text/plain' } });
    expect(await headUpload(url, token)).toMatchObject({ status: 200, offset: 0, length: 0 });
    const head = await s3.head(objectKey(id));
    expect(head.ContentLength).toBe(0);
  });

  it('supports deferred length, declared with the last PATCH', async () => {
    const file = await randomFile(6 * MiB + 7);
    const { url, id } = await createUpload(session(), {});
    expect((await headUpload(url, token)).headers.get('upload-defer-length')).toBe('1');
    const first = await patchFromFile(url, token, file.path, { start: 0, end: 5 * MiB });
    expect(first.status).toBe(204);
    const last = await patchFromFile(url, token, file.path, {
      start: 5 * MiB, end: file.size, headers: { 'Upload-Length': String(file.size) },
    });
    expect(last).toMatchObject({ status: 204, offset: file.size });
    expect(await s3.sha256(objectKey(id))).toBe(file.sha256);
  });

  it('keeps non-ASCII metadata and sets the object Content-Type from filetype', async () => {
    const file = await randomFile(1000);
    const { url, id } = await createUpload(session(), {
      length: file.size,
      metadata: { filename: 'Ünïcødé 写真 🎞.png', filetype: 'image/png' },
    });
    await patchRemaining(url, token, file.path, file.size, MiB);
    const meta = (await headUpload(url, token)).headers.get('upload-metadata')!;
    const decoded = Object.fromEntries(meta.split(',').map((p) => p.split(' ')).map(([k, v]) => [k, Buffer.from(v ?? '', 'base64').toString()]));
    expect(decoded.filename).toBe('Ünïcødé 写真 🎞.png');
    expect((await s3.head(objectKey(id))).ContentType).toBe('image/png');
  });

  it('lays objects out per user under the configured prefix', async () => {
    const bobToken = await server.token('bob');
    const { id } = await createUpload({ endpoint: server.tusEndpoint, token: bobToken }, { length: 10 });
    const keys = await s3.listKeys(prefix);
    expect(keys).toContain(`${s3.keyOf(prefix, 'bob', id)}.info`);
    expect(await s3.listMultipartKeys(prefix)).toContain(s3.keyOf(prefix, 'bob', id));
    for (const key of keys) expect(key).toMatch(new RegExp(`^${prefix}[0-9a-f]{20}/[A-Za-z0-9_-]{24}(\\.info|\\.part)?$`));
  });
});
