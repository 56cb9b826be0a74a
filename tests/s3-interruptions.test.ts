import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaulServer, REPO_ROOT, startHaul } from './helpers/haul-server.js';
import { randomFile, type RandomFile } from './helpers/random-file.js';
import { localS3 } from './helpers/s3.js';
import { createUpload, headUpload, patchFromFile, patchRemaining } from './helpers/tus-requests.js';

const MiB = 2 ** 20;
const s3 = localS3();
const prefix = `t-intr-${Date.now().toString(36)}/`;
const localS3Script = path.join(REPO_ROOT, 'scripts/local-s3.sh');
/** Stops or starts the local Swift; a start right after a stop may find a port still closing, so it retries. */
function swift(command: 'start' | 'stop'): void {
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync('bash', [localS3Script, command], { stdio: 'pipe' });
      return;
    } catch (error) {
      if (command === 'stop' || attempt === 3) {
        const output = (error as { stderr?: Buffer; stdout?: Buffer });
        throw new Error(`local-s3.sh ${command} failed:\n${output.stdout ?? ''}${output.stderr ?? ''}`);
      }
      execFileSync('sleep', ['2']);
    }
  }
}

/** The same upload URL on a restarted server (which listens on a new port). */
const onServer = (url: string, server: HaulServer) => new URL(new URL(url).pathname, server.url).toString();

describe('interrupted uploads on S3', () => {
  let server: HaulServer;
  let token: string;
  let file: RandomFile;

  beforeAll(async () => {
    server = await startHaul({ env: s3.env(prefix) });
    token = await server.token('alice');
    file = await randomFile(30 * MiB + 333);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.each([
    ['inside the first part', [3 * MiB]],
    ['exactly at a part boundary', [8 * MiB]],
    ['across part boundaries, several times', [9 * MiB + 17, 4 * MiB, 11 * MiB]],
  ])('resumes after a PATCH aborted %s', async (_, cuts) => {
    const { url, id } = await createUpload({ endpoint: server.tusEndpoint, token }, { length: file.size });
    let acknowledged = 0;
    for (const cut of cuts) {
      const { offset } = await headUpload(url, token);
      expect(offset).toBeGreaterThanOrEqual(acknowledged);
      await patchFromFile(url, token, file.path, { start: offset, end: file.size, abortAfter: cut });
      acknowledged = offset;
    }
    const { offset } = await headUpload(url, token);
    expect(offset).toBeGreaterThanOrEqual(acknowledged);
    expect(offset).toBeLessThanOrEqual(file.size);
    expect(await patchRemaining(url, token, file.path, file.size, 8 * MiB)).toBe(file.size);
    expect(await s3.sha256(s3.keyOf(prefix, 'alice', id))).toBe(file.sha256);
  });

  it('resumes on a new server process after the old one was killed mid-upload', async () => {
    const { url, id } = await createUpload({ endpoint: server.tusEndpoint, token }, { length: file.size });
    await patchFromFile(url, token, file.path, { start: 0, end: 10 * MiB });
    const inflight = patchFromFile(url, token, file.path, { start: 10 * MiB, end: file.size, abortAfter: file.size });
    await new Promise((r) => setTimeout(r, 150));
    await server.kill();
    await inflight;

    server = await startHaul({ env: s3.env(prefix), dataDir: server.dataDir });
    const resumed = onServer(url, server);
    const { offset } = await headUpload(resumed, token);
    // The first PATCH left one 8 MiB part and a 2 MiB incomplete part; the killed PATCH was
    // re-uploading that tail with new bytes. Acknowledged bytes must survive the crash.
    expect(offset).toBeGreaterThanOrEqual(10 * MiB);
    expect(await patchRemaining(resumed, token, file.path, file.size, 8 * MiB)).toBe(file.size);
    expect(await s3.sha256(s3.keyOf(prefix, 'alice', id))).toBe(file.sha256);
  });
});

describe('incomplete parts left by a crash', () => {
  let server: HaulServer;
  let token: string;
  beforeAll(async () => {
    server = await startHaul({ env: s3.env(prefix) });
    token = await server.token('dave');
  });
  afterAll(() => server?.stop());

  it.each([
    ['stale (its bytes already went into a complete part)', 0],
    ['detached (a part before it was never stored)', 9 * MiB],
  ])('ignores a .part that is %s', async (_, start) => {
    const file = await randomFile(12 * MiB);
    const { url, id } = await createUpload({ endpoint: server.tusEndpoint, token }, { length: file.size });
    expect(await patchFromFile(url, token, file.path, { start: 0, end: 8 * MiB })).toMatchObject({ status: 204, offset: 8 * MiB });
    const key = s3.keyOf(prefix, 'dave', id);
    await s3.client.putObject({
      Bucket: s3.bucket, Key: `${key}.part`, Body: Buffer.alloc(MiB, 7), Metadata: { 'tus-part-start': String(start) },
    });
    expect((await headUpload(url, token)).offset).toBe(8 * MiB);
    expect(await patchRemaining(url, token, file.path, file.size, 3 * MiB)).toBe(file.size);
    expect(await s3.sha256(key)).toBe(file.sha256);
  });
});

describe('a crash after the last part, before the multipart upload was completed', () => {
  let server: HaulServer;
  let token: string;
  beforeAll(async () => {
    server = await startHaul({ env: s3.env(prefix) });
    token = await server.token('erin');
  });
  afterAll(() => server?.stop());

  it('completes the upload on the next HEAD, so the object exists when the client is told it is whole', async () => {
    const file = await randomFile(6 * MiB);
    const { url, id } = await createUpload({ endpoint: server.tusEndpoint, token }, { length: file.size });
    const key = s3.keyOf(prefix, 'erin', id);
    // What the dead process left: every byte in a part, CompleteMultipartUpload never sent.
    const info = await s3.client.headObject({ Bucket: s3.bucket, Key: `${key}.info` });
    await s3.client.uploadPart({
      Bucket: s3.bucket, Key: key, UploadId: info.Metadata?.['upload-id'], PartNumber: 1,
      Body: await file.slice(0, file.size), ContentLength: file.size,
    });
    expect(await headUpload(url, token)).toMatchObject({ status: 200, offset: file.size, length: file.size });
    expect(await s3.sha256(key)).toBe(file.sha256);
    expect(await s3.listMultipartKeys(key)).toEqual([]);
  });
});

describe('S3 outage mid-upload', () => {
  let server: HaulServer;
  let token: string;

  beforeAll(async () => {
    server = await startHaul({ env: s3.env(prefix) });
    token = await server.token('carol');
  });
  afterAll(async () => {
    swift('start'); // whatever happened, leave S3 running for the next test file
    await server?.stop();
  });

  it('answers retryable errors while S3 is down and loses no acknowledged bytes', async () => {
    const file = await randomFile(20 * MiB);
    const { url, id } = await createUpload({ endpoint: server.tusEndpoint, token }, { length: file.size });
    const first = await patchFromFile(url, token, file.path, { start: 0, end: 8 * MiB });
    expect(first).toMatchObject({ status: 204, offset: 8 * MiB });

    swift('stop');
    const during = await patchFromFile(url, token, file.path, { start: 8 * MiB, end: file.size });
    expect(during.status).toBe(503);
    expect(JSON.parse(during.body)).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect((await headUpload(url, token)).status).toBe(503);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);

    swift('start');
    expect((await headUpload(url, token)).offset).toBeGreaterThanOrEqual(8 * MiB);
    expect(await patchRemaining(url, token, file.path, file.size, 8 * MiB)).toBe(file.size);
    expect(await s3.sha256(s3.keyOf(prefix, 'carol', id))).toBe(file.sha256);
  });

  it('lets tus-js-client ride out the outage with its retries', async () => {
    const file = await randomFile(24 * MiB);
    let outage: Promise<void> | undefined;
    const url = await new Promise<string>((resolve, reject) => {
      const upload = new tus.Upload(fs.createReadStream(file.path), {
        endpoint: server.tusEndpoint,
        uploadSize: file.size,
        chunkSize: 8 * MiB,
        headers: { Authorization: `Bearer ${token}` },
        retryDelays: [500, 1000, 2000, 3000, 3000, 3000, 3000],
        onChunkComplete: (_chunk, accepted) => {
          // After the first chunk, take S3 away for a few seconds.
          if (accepted === 8 * MiB && !outage) {
            swift('stop');
            outage = new Promise((r) => setTimeout(r, 3000)).then(() => void swift('start'));
          }
        },
        onError: reject,
        onSuccess: () => resolve(upload.url!),
      });
      upload.start();
    });
    await outage;
    expect(await s3.sha256(s3.keyOf(prefix, 'carol', url.split('/').pop()!))).toBe(file.sha256);
  });
});
