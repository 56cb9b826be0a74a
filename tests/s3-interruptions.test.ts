import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomFile, readRange, type SourceFile } from './helpers/files.js';
import { type HaulServer, REPO_ROOT, startHaul } from './helpers/haul-server.js';
import { localS3 } from './helpers/s3.js';
import { createUpload, head, offsetOf, patchFile, uploadIdOf, uploadRest } from './helpers/tus.js';
import { partialPatch } from './helpers/tus-interrupted.js';
import { runUpload } from './helpers/tus-js.js';
import { sleep } from './helpers/wait.js';

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
  let file: SourceFile;

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
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    let acknowledged = 0;
    for (const cut of cuts) {
      const offset = await offsetOf(url, token);
      expect(offset).toBeGreaterThanOrEqual(acknowledged);
      // The connection drops once `cut` bytes are out (a moment later: let the server take them in).
      const cutOff = await partialPatch(url, token, file.path, { offset, send: cut, declared: file.size - offset });
      await sleep(100);
      await cutOff.abort();
      acknowledged = offset;
    }
    const offset = await offsetOf(url, token);
    expect(offset).toBeGreaterThanOrEqual(acknowledged);
    expect(offset).toBeLessThanOrEqual(file.size);
    expect(await uploadRest(url, token, file, { chunkSize: 8 * MiB })).toBe(file.size);
    expect(await s3.sha256(s3.keyOf(prefix, 'alice', id))).toBe(file.sha256);
  });

  it('resumes on a new server process after the old one was killed mid-upload', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    await patchFile(url, token, file.path, { start: 0, end: 10 * MiB });
    const inflight = patchFile(url, token, file.path, { start: 10 * MiB, end: file.size }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 150));
    await server.kill();
    await inflight;

    server = await startHaul({ env: s3.env(prefix), dataDir: server.dataDir });
    const resumed = onServer(url, server);
    const offset = await offsetOf(resumed, token);
    // The first PATCH left one 8 MiB part and a 2 MiB incomplete part; the killed PATCH was
    // re-uploading that tail with new bytes. Acknowledged bytes must survive the crash.
    expect(offset).toBeGreaterThanOrEqual(10 * MiB);
    expect(await uploadRest(resumed, token, file, { chunkSize: 8 * MiB })).toBe(file.size);
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
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    expect(await patchFile(url, token, file.path, { start: 0, end: 8 * MiB })).toMatchObject({ status: 204, offset: 8 * MiB });
    const key = s3.keyOf(prefix, 'dave', id);
    await s3.client.putObject({
      Bucket: s3.bucket, Key: `${key}.part`, Body: Buffer.alloc(MiB, 7), Metadata: { 'tus-part-start': String(start) },
    });
    expect((await head(url, token)).offset).toBe(8 * MiB);
    expect(await uploadRest(url, token, file, { chunkSize: 3 * MiB })).toBe(file.size);
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
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    const key = s3.keyOf(prefix, 'erin', id);
    // What the dead process left: every byte in a part, CompleteMultipartUpload never sent.
    const info = await s3.client.headObject({ Bucket: s3.bucket, Key: `${key}.info` });
    await s3.client.uploadPart({
      Bucket: s3.bucket, Key: key, UploadId: info.Metadata?.['upload-id'], PartNumber: 1,
      Body: await readRange(file.path, 0, file.size), ContentLength: file.size,
    });
    expect(await head(url, token)).toMatchObject({ status: 200, offset: file.size, length: file.size });
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
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    const first = await patchFile(url, token, file.path, { start: 0, end: 8 * MiB });
    expect(first).toMatchObject({ status: 204, offset: 8 * MiB });

    swift('stop');
    const during = await patchFile(url, token, file.path, { start: 8 * MiB, end: file.size });
    expect(during.status).toBe(503);
    expect(during.json()).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect((await head(url, token)).status).toBe(503);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);

    swift('start');
    expect((await head(url, token)).offset).toBeGreaterThanOrEqual(8 * MiB);
    expect(await uploadRest(url, token, file, { chunkSize: 8 * MiB })).toBe(file.size);
    expect(await s3.sha256(s3.keyOf(prefix, 'carol', id))).toBe(file.sha256);
  });

  it('lets tus-js-client ride out the outage with its retries', async () => {
    const file = await randomFile(24 * MiB);
    let outage: Promise<void> | undefined;
    const url = await runUpload(new tus.Upload(fs.createReadStream(file.path), {
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
    }));
    await outage;
    expect(await s3.sha256(s3.keyOf(prefix, 'carol', uploadIdOf(url)))).toBe(file.sha256);
  });
});
