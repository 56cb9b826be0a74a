import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { S3 } from '@aws-sdk/client-s3';
import { createS3Client } from '../server/src/storage/s3-client.js';
import { eicarFile, noisePng } from './helpers/fixtures.js';
import { freePort } from './helpers/haul-server.js';
import { startLibraryServer, stopAll } from './helpers/library-server.js';
import { localS3 } from './helpers/s3.js';
import { createPartial, createUpload, patch, postFinal, uploadBuffer } from './helpers/tus.js';
import { bearer, waitForUpload } from './helpers/uploads-api.js';
import { waitFor } from './helpers/wait.js';

/**
 * S3_SSE on every object Haul writes. Swift's S3 API (the local store) implements no server-side
 * encryption: it answers 501 to any request asking for it, so there the test checks that Haul
 * fails closed (nothing stored unencrypted). What every written object carries is checked against
 * an S3 API that records SSE (moto's server, `python3 -m moto.server`, if installed): multipart
 * uploads with their `.part` and `.info`, previews, concatenated finals and quarantined copies
 * all report AES256 (or aws:kms with its key), and presigned downloads still work. Untested here:
 * real encryption at rest (moto only records the setting), SSE-KMS key permissions, and Swift with
 * its own encryption middleware (whose S3 API still refuses SSE headers).
 */

const s3 = localS3();
afterAll(stopAll);

describe('on Swift (no SSE support)', () => {
  it('Swift refuses SSE requests (501); Haul with S3_SSE then refuses uploads rather than store them unencrypted', async () => {
    const prefix = `t-sse-${Date.now().toString(36)}/`;
    const client = createS3Client({ ...s3.config, sse: { algorithm: 'AES256', kmsKeyId: undefined } });
    const refused = await client.putObject({ Bucket: s3.bucket, Key: `${prefix}probe`, Body: 'x' }).catch((error: { $metadata?: { httpStatusCode?: number } }) => error);
    expect((refused as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(501);

    const server = await startLibraryServer({ ...s3.env(prefix), S3_SSE: 'AES256' });
    const token = await server.token('sam');
    const created = await fetch(server.endpoint, { method: 'POST', headers: { ...bearer(token), 'Tus-Resumable': '1.0.0', 'Upload-Length': '10' } });
    expect(created.status).toBeGreaterThanOrEqual(500);
    expect(await s3.listKeys(prefix)).toEqual([]);
    expect(await s3.listMultipartKeys(prefix)).toEqual([]);
  });
});

const hasMoto = spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!hasMoto)('against an S3 API that records SSE (moto)', () => {
  let moto: ChildProcess | undefined;
  afterAll(() => {
    moto?.kill('SIGTERM');
  });

  it.each([
    { algorithm: 'AES256', env: { S3_SSE: 'AES256' } as Record<string, string>, keyId: undefined },
    { algorithm: 'aws:kms', env: { S3_SSE: 'aws:kms', S3_SSE_KMS_KEY_ID: 'haul-test-key' } as Record<string, string>, keyId: 'haul-test-key' },
  ])('every object Haul writes asks for $algorithm; downloads still work', async ({ algorithm, env, keyId }) => {
    if (!moto) {
      const port = await freePort();
      moto = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      process.env.HAUL_TEST_MOTO = `http://127.0.0.1:${port}`;
      await waitFor(() => fetch(process.env.HAUL_TEST_MOTO!).then(() => true, () => false), { what: 'moto', timeoutMs: 30_000 });
    }
    const endpoint = process.env.HAUL_TEST_MOTO!;
    const bucket = `haul-sse-${Date.now().toString(36)}`;
    const admin = new S3({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await admin.createBucket({ Bucket: bucket });
    const server = await startLibraryServer({
      S3_ENDPOINT: endpoint, S3_BUCKET: bucket, S3_ACCESS_KEY_ID: 'test', S3_SECRET_ACCESS_KEY: 'test', S3_REGION: 'us-east-1', ...env,
      WORKER: 'embedded', SCAN_MODE: 'required', CLAMD_HOST: process.env.TEST_CLAMD_HOST ?? '', CLAMD_PORT: process.env.TEST_CLAMD_PORT ?? '3310',
    });
    const token = await server.token('sse');
    // A finished image (with previews), an infected file (quarantined copy), an unfinished
    // multipart upload (a complete part, a `.part`, its `.info`), a concatenated final.
    const png = await noisePng(300, 200);
    const image = await uploadBuffer(server.endpoint, token, png, { filename: 'p.png' });
    const infected = await uploadBuffer(server.endpoint, token, eicarFile(), { filename: 'eicar.txt' });
    const unfinished = await createUpload(server.endpoint, token, { length: 20 * 2 ** 20, metadata: { filename: 'u.txt' } });
    expect((await patch(unfinished.url, token, 0, Buffer.alloc(9 * 2 ** 20, 'u'))).status).toBe(204);
    const parts = [await createPartial(server.endpoint, token, 6 * 2 ** 20), await createPartial(server.endpoint, token, 10)];
    expect((await patch(parts[0]!.url, token, 0, Buffer.alloc(6 * 2 ** 20, 'a'))).status).toBe(204);
    expect((await patch(parts[1]!.url, token, 0, Buffer.from('0123456789'))).status).toBe(204);
    expect((await postFinal(server.endpoint, token, parts.map((p) => p.path))).status).toBe(201);
    expect((await waitForUpload(server, token, image.id)).thumbnails.length).toBeGreaterThan(0);
    expect((await waitForUpload(server, token, infected.id)).status).toBe('infected');

    const keys = ((await admin.listObjectsV2({ Bucket: bucket })).Contents ?? []).map((o) => o.Key!);
    expect(keys.length).toBeGreaterThan(8);
    expect(keys.some((k) => k.includes('.thumb-'))).toBe(true);
    expect(keys.some((k) => k.endsWith('.part'))).toBe(true);
    expect(keys.some((k) => k.includes('quarantine/'))).toBe(true);
    for (const key of keys) {
      const head = await admin.headObject({ Bucket: bucket, Key: key });
      expect([key, head.ServerSideEncryption, head.SSEKMSKeyId]).toEqual([key, algorithm, keyId === undefined ? undefined : expect.stringContaining(keyId)]);
    }
    // The unfinished upload's multipart upload was created with it too: its parts become an encrypted object.
    expect((await admin.listMultipartUploads({ Bucket: bucket })).Uploads?.length).toBe(1);

    // A presigned download (a redirect to the store) still works.
    const redirect = await fetch(`${server.url}/api/uploads/${image.id}/content`, { headers: bearer(token), redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const downloaded = Buffer.from(await (await fetch(redirect.headers.get('location')!)).arrayBuffer());
    expect(downloaded.equals(png)).toBe(true);
  });
});
