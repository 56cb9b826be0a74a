import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomFile } from './helpers/files.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { localS3 } from './helpers/s3.js';
import { createUpload, head, patchFile, terminate } from './helpers/tus.js';

const MiB = 2 ** 20;
const s3 = localS3();
const run = Date.now().toString(36);

describe('termination on S3', () => {
  const prefix = `t-term-${run}/`;
  let server: HaulServer;
  let token: string;
  beforeAll(async () => {
    server = await startHaul({ env: s3.env(prefix) });
    token = await server.token('alice');
  });
  afterAll(() => server?.stop());

  it('aborts the multipart upload and removes the object, .info and incomplete part', async () => {
    const file = await randomFile(10 * MiB);
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    // 8 MiB (S3_PART_SIZE) + 1 MiB: one complete part and an incomplete part (the .part object).
    await patchFile(url, token, file.path, { start: 0, end: 9 * MiB });
    const key = s3.keyOf(prefix, 'alice', id);
    expect(await s3.listKeys(key)).toEqual([`${key}.info`, `${key}.part`]);
    expect(await s3.listMultipartKeys(key)).toEqual([key]);

    const response = await terminate(url, token);
    expect(response.status).toBe(204);
    expect(await s3.listKeys(key)).toEqual([]);
    expect(await s3.listMultipartKeys(key)).toEqual([]);
    expect((await head(url, token)).status).toBe(410);
  });

  it('removes a finished upload\'s object too', async () => {
    const file = await randomFile(MiB);
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    await patchFile(url, token, file.path, { start: 0, end: file.size });
    const key = s3.keyOf(prefix, 'alice', id);
    expect(await s3.listKeys(key)).toEqual([key, `${key}.info`]);
    const response = await terminate(url, token);
    expect(response.status).toBe(204);
    expect(await s3.listKeys(key)).toEqual([]);
  });
});

describe('expiry on S3', () => {
  const prefix = `t-exp-${run}/`;
  const foreignPrefix = `t-foreign-${run}/`;
  let server: HaulServer;

  afterAll(async () => {
    await server?.stop();
    const foreign = await s3.listMultipartUploads(foreignPrefix);
    for (const upload of foreign) await s3.client.abortMultipartUpload({ Bucket: s3.bucket, Key: upload.Key, UploadId: upload.UploadId });
    for (const key of await s3.listKeys(foreignPrefix)) await s3.client.deleteObject({ Bucket: s3.bucket, Key: key });
  });

  it('removes abandoned uploads under our prefix only', async () => {
    // Someone else's objects in the same bucket: a plain object and an abandoned multipart upload.
    await s3.client.putObject({ Bucket: s3.bucket, Key: `${foreignPrefix}keep.txt`, Body: 'not ours' });
    await s3.client.createMultipartUpload({ Bucket: s3.bucket, Key: `${foreignPrefix}their-upload` });
    // …and one in our prefix that Haul has no row for (a crash before the row was written).
    const orphanKey = `${prefix}0123456789abcdef0123/orphanorphanorphanorph1`;
    await s3.client.createMultipartUpload({ Bucket: s3.bucket, Key: orphanKey });
    await s3.client.putObject({ Bucket: s3.bucket, Key: `${orphanKey}.info`, Body: '{}' });

    server = await startHaul({ env: { ...s3.env(prefix), UPLOAD_EXPIRY_SECONDS: '8', EXPIRY_SWEEP_INTERVAL_SECONDS: '1' } });
    const token = await server.token('alice');
    const file = await randomFile(6 * MiB);
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    await patchFile(url, token, file.path, { start: 0, end: 2 * MiB });
    const key = s3.keyOf(prefix, 'alice', id);
    expect(await s3.listKeys(key)).toEqual([`${key}.info`, `${key}.part`]);

    // The sweep runs every second; the upload expires 8 s after creation (long enough for the
    // 2 MiB PATCH above to finish on a loaded machine before it does).
    await expect.poll(async () => (await s3.listKeys(prefix)).length, { timeout: 40_000, interval: 500 }).toBe(0);
    expect(await s3.listMultipartKeys(prefix)).toEqual([]);
    expect((await head(url, token)).status).toBe(410);

    expect(await s3.listKeys(foreignPrefix)).toEqual([`${foreignPrefix}keep.txt`]);
    expect(await s3.listMultipartKeys(foreignPrefix)).toEqual([`${foreignPrefix}their-upload`]);
  });
});
