import * as tus from 'tus-js-client';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomFile, type SourceFile } from './helpers/files.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { scrape, parseMetrics } from './helpers/prometheus.js';
import { localS3 } from './helpers/s3.js';
import { createUpload, decodeMetadataText, head, patchFile, uploadIdOf, uploadRest } from './helpers/tus.js';
import { runUpload } from './helpers/tus-js.js';

const MiB = 2 ** 20;
const s3 = localS3();
const prefix = `t-uploads-${Date.now().toString(36)}/`;
const METRICS_TOKEN = 's3-uploads-metrics-token-0123456789';

/** S3 requests the server has sent, by operation (its haul_s3_request_duration_seconds counts). */
async function s3Requests(server: HaulServer): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const s of parseMetrics(await scrape(server.url, METRICS_TOKEN))) {
    if (s.name !== 'haul_s3_request_duration_seconds_count') continue;
    counts.set(s.labels.operation!, (counts.get(s.labels.operation!) ?? 0) + s.value);
  }
  return counts;
}

/** Every upload path, on a real S3 API (OpenStack Swift), checking the final object's bytes. */
describe('uploads on S3 (Swift)', () => {
  let server: HaulServer;
  let token: string;
  let big: SourceFile;

  beforeAll(async () => {
    server = await startHaul({ env: { ...s3.env(prefix), METRICS_TOKEN } });
    token = await server.token('alice');
    big = await randomFile(50 * MiB);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const objectKey = (id: string) => s3.keyOf(prefix, 'alice', id);

  it('sends S3 three requests for an 8 MiB PATCH: ListParts and HeadObject at once, then UploadPart', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: 20 * MiB });
    expect(await patchFile(url, token, big.path, { start: 0, end: 8 * MiB })).toMatchObject({ status: 204 });
    const before = await s3Requests(server);
    expect(await patchFile(url, token, big.path, { start: 8 * MiB, end: 16 * MiB })).toMatchObject({ status: 204, offset: 16 * MiB });
    const after = await s3Requests(server);
    const sent = Object.fromEntries([...after].map(([operation, n]) => [operation, n - (before.get(operation) ?? 0)]).filter(([, n]) => n !== 0));
    expect(sent).toEqual({ ListParts: 1, HeadObject: 1, UploadPart: 1 });
    // The last one completes the multipart upload with the parts it knows: no listing again.
    expect(await patchFile(url, token, big.path, { start: 16 * MiB, end: 20 * MiB })).toMatchObject({ status: 204, offset: 20 * MiB });
    const last = await s3Requests(server);
    expect((last.get('ListParts') ?? 0) - (after.get('ListParts') ?? 0)).toBe(1);
    expect((last.get('CompleteMultipartUpload') ?? 0) - (after.get('CompleteMultipartUpload') ?? 0)).toBe(1);
    const bytes = await s3.client.getObject({ Bucket: s3.bucket, Key: objectKey(id) });
    expect(Buffer.from(await bytes.Body!.transformToByteArray()).equals(fs.readFileSync(big.path).subarray(0, 20 * MiB))).toBe(true);
  });

  it('takes 50 MiB in 8 MiB chunks', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: big.size });
    expect(await uploadRest(url, token, big, { chunkSize: 8 * MiB })).toBe(big.size);
    expect(await s3.sha256(objectKey(id))).toBe(big.sha256);
  });

  it('takes 50 MiB as one PATCH', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: big.size });
    const result = await patchFile(url, token, big.path, { start: 0, end: big.size });
    expect(result).toMatchObject({ status: 204, offset: big.size });
    expect(await s3.sha256(objectKey(id))).toBe(big.sha256);
  });

  it('takes chunks below the 5 MiB minimum part size', async () => {
    const file = await randomFile(13 * MiB + 12345);
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    // 3 MiB PATCHes: each ends mid-part, so S3Store keeps the tail as an incomplete part.
    expect(await uploadRest(url, token, file, { chunkSize: 3 * MiB })).toBe(file.size);
    expect(await s3.sha256(objectKey(id))).toBe(file.sha256);
    // Nothing but the object and its .info remain.
    expect(await s3.listKeys(objectKey(id))).toEqual([objectKey(id), `${objectKey(id)}.info`]);
  });

  it('works with tus-js-client', async () => {
    const file = await randomFile(9 * MiB);
    const url = await runUpload(new tus.Upload(fs.createReadStream(file.path), {
      endpoint: server.tusEndpoint,
      uploadSize: file.size,
      chunkSize: 6 * MiB,
      headers: { Authorization: `Bearer ${token}` },
      metadata: { filename: 'clip.bin', filetype: 'application/octet-stream' },
      retryDelays: [],
    }));
    expect(await s3.sha256(objectKey(uploadIdOf(url)))).toBe(file.sha256);
  });

  it('stores zero-byte uploads as empty objects', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: 0, metadata: { filename: 'empty.txt', filetype: 'text/plain' } });
    expect(await head(url, token)).toMatchObject({ status: 200, offset: 0, length: 0 });
    const object = await s3.head(objectKey(id));
    expect(object.ContentLength).toBe(0);
  });

  it('supports deferred length, declared with the last PATCH', async () => {
    const file = await randomFile(6 * MiB + 7);
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: 'deferred' });
    expect((await head(url, token)).header('upload-defer-length')).toBe('1');
    const first = await patchFile(url, token, file.path, { start: 0, end: 5 * MiB });
    expect(first.status).toBe(204);
    const last = await patchFile(url, token, file.path, {
      start: 5 * MiB, end: file.size, headers: { 'Upload-Length': String(file.size) },
    });
    expect(last).toMatchObject({ status: 204, offset: file.size });
    expect(await s3.sha256(objectKey(id))).toBe(file.sha256);
  });

  it('keeps non-ASCII metadata and sets the object Content-Type from filetype', async () => {
    const file = await randomFile(1000);
    const { url, id } = await createUpload(server.tusEndpoint, token, {
      length: file.size,
      metadata: { filename: 'Ünïcødé 写真 🎞.png', filetype: 'image/png' },
    });
    await uploadRest(url, token, file, { chunkSize: MiB });
    const decoded = decodeMetadataText((await head(url, token)).header('upload-metadata'));
    expect(decoded.filename).toBe('Ünïcødé 写真 🎞.png');
    expect((await s3.head(objectKey(id))).ContentType).toBe('image/png');
  });

  it('lays objects out per user under the configured prefix', async () => {
    const bobToken = await server.token('bob');
    const { id } = await createUpload(server.tusEndpoint, bobToken, { length: 10 });
    const keys = await s3.listKeys(prefix);
    expect(keys).toContain(`${s3.keyOf(prefix, 'bob', id)}.info`);
    expect(await s3.listMultipartKeys(prefix)).toContain(s3.keyOf(prefix, 'bob', id));
    for (const key of keys) expect(key).toMatch(new RegExp(`^${prefix}[0-9a-f]{20}/[A-Za-z0-9_-]{24}(\\.info|\\.part)?$`));
  });
});
