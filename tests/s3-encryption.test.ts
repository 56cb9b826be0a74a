import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { S3 } from '@aws-sdk/client-s3';
import { createS3Client } from '../server/src/storage/s3-client.js';
import { type EncryptedLocalS3, encryptedLocalS3, type LoggedRequest } from './helpers/encrypted-s3.js';
import { eicarFile, noisePng } from './helpers/fixtures.js';
import { freePort, processingEnv } from './helpers/haul-server.js';
import { startLibraryServer, stopAll } from './helpers/library-server.js';
import { localS3 } from './helpers/s3.js';
import { createPartial, createUpload, patch, postFinal, uploadBuffer, uploadIdOf } from './helpers/tus.js';
import { bearer, waitForUpload } from './helpers/uploads-api.js';
import { waitFor } from './helpers/wait.js';

/**
 * S3_SSE on every object Haul writes, against the local Swift's second proxy, which runs Swift's
 * own at-rest encryption (keymaster + encryption middleware, scripts/lib-s3-encrypted-proxy.sh):
 * its S3 API accepts SSE-S3 (`AES256`) and encrypts what it stores; SSE-KMS it answers 501.
 * With S3_SSE=AES256, uploads of every kind (one PATCH, several PATCHes → multipart parts and a
 * `.part`, an unfinished upload's `.part` and `.info`, deferred length, a concatenated final,
 * image previews, a quarantined copy) are checked three ways: the proxy's access log shows that
 * every request creating an object carried `x-amz-server-side-encryption: AES256`; the bytes on
 * the object server's disk contain no plaintext; reads (processing, presigned downloads) return
 * the plaintext. Untested here: SSE-KMS (Swift has none), and AWS's own behaviour — the header is
 * what Haul controls; this proxy would encrypt even without it.
 * The plain proxy (no encryption middleware) answers 501 to any SSE request: Haul fails closed.
 * The moto block is an optional extra: it runs only where `python3 -m moto.server` imports (not on
 * the CI machine) and checks what Swift's S3 API does not report: `ServerSideEncryption` and the KMS
 * key on HEAD.
 */

const s3 = localS3();
const encrypted = encryptedLocalS3();
afterAll(stopAll);

const MiB = 2 ** 20;
const MARKER = `haul-sse-plaintext-${randomBytes(6).toString('hex')}`;
/** `size` bytes of marker lines: any of them left in plaintext on disk is found. */
const markerFilled = (size: number) => Buffer.alloc(size, `${MARKER}\n`);

describe('on Swift without its encryption middleware (the plain proxy)', () => {
  it('Swift refuses SSE requests (501); Haul with S3_SSE then refuses uploads rather than store them unencrypted', async () => {
    const prefix = `t-sse-${Date.now().toString(36)}/`;
    const client = createS3Client({ ...s3.config, sse: { algorithm: 'AES256', kmsKeyId: undefined } });
    const refused = await client.putObject({ Bucket: s3.bucket, Key: `${prefix}probe`, Body: 'x' }).catch((error: { $metadata?: { httpStatusCode?: number } }) => error);
    expect((refused as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(501);

    const server = await startLibraryServer({ ...s3.env(prefix), S3_SSE: 'AES256', PORT: '3752' });
    const token = await server.token('sam');
    const created = await fetch(server.endpoint, { method: 'POST', headers: { ...bearer(token), 'Tus-Resumable': '1.0.0', 'Upload-Length': '10' } });
    expect(created.status).toBeGreaterThanOrEqual(500);
    expect(await s3.listKeys(prefix)).toEqual([]);
    expect(await s3.listMultipartKeys(prefix)).toEqual([]);
  });
});

/** S3 request kinds, from the method, the query and whether `x-amz-copy-source` was sent. */
function kindOf(request: LoggedRequest): string {
  const copy = request.headers.has('x-amz-copy-source');
  if (request.method === 'POST' && request.query.has('uploads')) return 'CreateMultipartUpload';
  if (request.method === 'POST' && request.query.has('uploadId')) return 'CompleteMultipartUpload';
  if (request.method === 'PUT' && request.query.has('uploadId')) return copy ? 'UploadPartCopy' : 'UploadPart';
  if (request.method === 'PUT') return copy ? 'CopyObject' : 'PutObject';
  return request.method;
}
/** The requests that create an object and take `x-amz-server-side-encryption`; a multipart upload's parts get
 * the encryption of its CreateMultipartUpload (S3 takes no SSE-S3/KMS header on UploadPart or UploadPartCopy). */
const CREATING = ['PutObject', 'CopyObject', 'CreateMultipartUpload'];

// Under CI the encrypted proxy must be there (scripts/test.sh starts it): a missing one fails, never skips.
describe.skipIf(!encrypted && !process.env.CI)('on Swift with its at-rest encryption (the encrypted proxy)', () => {
  const need = (): EncryptedLocalS3 => {
    if (!encrypted) throw new Error('TEST_S3_LOCAL_ENCRYPTED_* not set: scripts/local-s3.sh start runs the encrypted proxy, `env` exports it');
    return encrypted;
  };

  it('S3_SSE=AES256: every object-creating request asks for it, every object is ciphertext on disk, reads return the plaintext', async () => {
    const sse = need();
    const prefix = `t-sse-${Date.now().toString(36)}/`;
    const mark = await sse.logMark();
    const server = await startLibraryServer({ ...sse.env(prefix), ...processingEnv(), S3_SSE: 'AES256', S3_PART_SIZE: '5MiB', PORT: '3750' });
    const token = await server.token('sse');
    const ok = async (response: Promise<{ status: number }>) => expect((await response).status).toBe(204);

    // Independent uploads run side by side (the test's time is mostly waiting for Swift).
    const single = markerFilled(64 * 1024);
    const multi = markerFilled(6 * MiB);
    const deferredBody = markerFilled(MiB / 2);
    const partialBodies = [markerFilled(5 * MiB), Buffer.from('0123456789')];
    const png = await noisePng(300, 200);
    const [one, several, , deferred, final, image, infected] = await Promise.all([
      uploadBuffer(server.endpoint, token, single, { filename: `${MARKER}.txt` }),
      (async () => {
        // Several PATCHes: a 5 MiB part and a `.part`, then the last part.
        const upload = await createUpload(server.endpoint, token, { length: multi.length, metadata: { filename: 'several.txt' } });
        for (const offset of [0, 3 * MiB]) await ok(patch(upload.url, token, offset, multi.subarray(offset, offset + 3 * MiB)));
        return upload;
      })(),
      (async () => {
        // Left unfinished: its part, `.part` and `.info` stay.
        const upload = await createUpload(server.endpoint, token, { length: 10 * MiB, metadata: { filename: 'unfinished.txt' } });
        await ok(patch(upload.url, token, 0, markerFilled(6 * MiB)));
      })(),
      (async () => {
        const upload = await createUpload(server.endpoint, token, { length: 'deferred', metadata: { filename: 'deferred.txt' } });
        await ok(patch(upload.url, token, 0, deferredBody.subarray(0, MiB / 4)));
        await ok(patch(upload.url, token, MiB / 4, deferredBody.subarray(MiB / 4), { 'Upload-Length': deferredBody.length }));
        return upload;
      })(),
      (async () => {
        // Concatenation: a 5 MiB partial is copied inside S3 (UploadPartCopy), the 10 bytes streamed.
        const partials = await Promise.all(partialBodies.map(async (body) => {
          const partial = await createPartial(server.endpoint, token, body.length);
          await ok(patch(partial.url, token, 0, body));
          return partial;
        }));
        const created = await postFinal(server.endpoint, token, partials.map((p) => p.path));
        expect(created.status).toBe(201);
        return { id: uploadIdOf(created.url!) };
      })(),
      uploadBuffer(server.endpoint, token, png, { filename: 'p.png' }),
      uploadBuffer(server.endpoint, token, eicarFile(), { filename: 'eicar.txt' }),
    ]);
    // Processing read them back through the proxy (sniffing, scanning, previews).
    expect((await waitForUpload(server, token, image.id)).thumbnails.length).toBeGreaterThan(0);
    expect((await waitForUpload(server, token, infected.id)).status).toBe('infected');
    const expected = new Map([[one.id, single], [several.id, multi], [deferred.id, deferredBody], [final.id, Buffer.concat(partialBodies)], [image.id, png]]);
    for (const [id, bytes] of expected) {
      expect((await waitForUpload(server, token, id)).status).toBe('ready');
      // Presigned downloads: a redirect to the encrypted proxy, which decrypts.
      const redirect = await fetch(`${server.url}/api/uploads/${id}/content`, { headers: bearer(token), redirect: 'manual' });
      expect(redirect.status).toBe(302);
      expect(redirect.headers.get('location')).toMatch(new RegExp(`^${sse.endpoint}/`));
      const downloaded = Buffer.from(await (await fetch(redirect.headers.get('location')!)).arrayBuffer());
      expect(downloaded.equals(bytes), `download of ${id}`).toBe(true);
    }

    // 1. The header, as the S3 API received it.
    const requests = (await sse.requestsSince(mark)).filter((r) => r.bucket === sse.bucket && r.key.startsWith(prefix));
    const creating = requests.filter((r) => CREATING.includes(kindOf(r)));
    const line = (r: LoggedRequest) => `${kindOf(r)} ${r.key} → ${r.status}, SSE ${r.headers.get('x-amz-server-side-encryption') ?? 'none'}`;
    expect(creating.filter((r) => r.headers.get('x-amz-server-side-encryption') !== 'AES256' || r.status >= 300).map(line)).toEqual([]);
    const parts = requests.filter((r) => kindOf(r) === 'UploadPart' || kindOf(r) === 'UploadPartCopy');
    expect(parts.filter((r) => r.headers.has('x-amz-server-side-encryption')).map(line)).toEqual([]);
    const count = (kind: string) => requests.filter((r) => kindOf(r) === kind).length;
    expect({ multipart: count('CreateMultipartUpload') >= 6, parts: count('UploadPart') >= 4, copies: count('UploadPartCopy') >= 1 })
      .toEqual({ multipart: true, parts: true, copies: true });
    const keys = ((await sse.client.listObjectsV2({ Bucket: sse.bucket, Prefix: prefix })).Contents ?? []).map((o) => o.Key!);
    for (const suffix of ['.info', '.part', '.thumb-', 'quarantine/']) expect(keys.some((key) => key.includes(suffix)), suffix).toBe(true);
    // Every object there now was made by one of those requests (a multipart final by its CreateMultipartUpload).
    expect(keys.filter((key) => !creating.some((r) => r.key === key))).toEqual([]);

    // 2. The bytes on disk: every object and multipart segment under the prefix, no plaintext.
    const swift = await sse.swift();
    const stored = [
      ...(await swift.list(sse.bucket, prefix)).map((name) => [sse.bucket, name] as const),
      ...(await swift.list(`${sse.bucket}+segments`, prefix)).map((name) => [`${sse.bucket}+segments`, name] as const),
    ];
    expect(stored.length).toBeGreaterThan(keys.length);
    let withMarker = 0;
    let bytesOnDisk = 0;
    const checkOnDisk = async ([container, name]: readonly [string, string]) => {
      const head = await swift.read(container, name, MiB);
      if (!head) return; // removed since the listing
      const needles: Buffer[] = [Buffer.from(MARKER)];
      if (head.includes(MARKER)) withMarker++;
      // Objects without the marker (previews, manifests, `.info`): 64 bytes from their middle.
      else if (head.length >= 128) needles.push(head.subarray(head.length >> 1, (head.length >> 1) + 64));
      const files = await sse.dataFiles(swift.account, container, name);
      expect(files.length, `${container}/${name} on disk`).toBeGreaterThan(0);
      for (const file of files) {
        const onDisk = await fsp.readFile(file);
        bytesOnDisk += onDisk.length;
        for (const needle of needles) expect(onDisk.includes(needle), `plaintext in ${container}/${name} (${file})`).toBe(false);
      }
    };
    for (let next = 0; next < stored.length; next += 4) await Promise.all(stored.slice(next, next + 4).map(checkOnDisk));
    // single's part and `.info`, several's 2 parts, unfinished's part and `.part`, deferred's part, the final's copied part
    expect(withMarker, 'objects holding the marker').toBeGreaterThanOrEqual(8);
    // several 6 MiB, unfinished 5 + 1, the final 5, deferred 0.5, … (the partials went with the concatenation)
    expect(bytesOnDisk).toBeGreaterThan(17 * MiB);

    // The same look at the disk finds the plaintext of an object written through the plain proxy…
    const controlKey = `${prefix}plaintext-control`;
    await s3.client.putObject({ Bucket: s3.bucket, Key: controlKey, Body: markerFilled(4096) });
    const controlFiles = await sse.dataFiles(swift.account, s3.bucket, controlKey);
    const controlOnDisk = await Promise.all(controlFiles.map((file) => fsp.readFile(file)));
    await s3.client.deleteObject({ Bucket: s3.bucket, Key: controlKey });
    expect(controlOnDisk.map((bytes) => bytes.includes(MARKER))).toEqual([true]);
    // …and the plain proxy, which has no key, returns these objects' ciphertext (a `.part`: a plain object, not a manifest).
    const partKey = keys.find((key) => key.endsWith('.part'))!;
    const read = async (client: S3) => Buffer.from(await (await client.getObject({ Bucket: sse.bucket, Key: partKey })).Body!.transformToByteArray());
    const [clear, cipher] = [await read(sse.client), await read(s3.client)];
    expect([clear.length > 0, clear.includes(MARKER), cipher.length === clear.length, cipher.includes(MARKER)]).toEqual([true, true, true, false]);
    await sse.removePrefix(prefix);
  }, 120_000);

  it('S3_SSE=aws:kms: Swift answers 501 (no KMS), so Haul fails the upload (5xx) and stores nothing', async () => {
    const sse = need();
    const prefix = `t-sse-kms-${Date.now().toString(36)}/`;
    const mark = await sse.logMark();
    const server = await startLibraryServer({ ...sse.env(prefix), S3_SSE: 'aws:kms', S3_SSE_KMS_KEY_ID: 'haul-test-key', PORT: '3751' });
    const token = await server.token('kms');
    const created = await fetch(server.endpoint, { method: 'POST', headers: { ...bearer(token), 'Tus-Resumable': '1.0.0', 'Upload-Length': '10' } });
    expect(created.status).toBeGreaterThanOrEqual(500);
    const asked = (await sse.requestsSince(mark)).filter((r) => r.key.startsWith(prefix) && CREATING.includes(kindOf(r)));
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.map((r) => [r.headers.get('x-amz-server-side-encryption'), r.status])).toEqual(asked.map(() => ['aws:kms', 501]));
    expect(((await sse.client.listObjectsV2({ Bucket: sse.bucket, Prefix: prefix })).Contents ?? []).length).toBe(0);
    expect(((await sse.client.listMultipartUploads({ Bucket: sse.bucket, Prefix: prefix })).Uploads ?? []).length).toBe(0);
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
