import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FlakyProxy, rawResponse, startFlakyProxy } from './helpers/flaky-proxy.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { randomFile } from './helpers/files.js';
import { localS3 } from './helpers/s3.js';
import { sleep } from './helpers/wait.js';
import { createUpload, head, offsetOf, patchFile, uploadRest } from './helpers/tus.js';

/**
 * S3 unreachable mid-upload, without touching the shared Swift: Haul reaches S3 through a proxy
 * that answers every new connection with 503 while "down", or lets nothing move while "frozen"
 * (a hung node). tus requests then answer a retryable 503 (never 404, which makes clients start
 * over) — a hung S3 within S3_STALL_TIMEOUT_MS, not hours later — and no acknowledged byte is lost.
 */

const MiB = 2 ** 20;
const s3 = localS3();
const prefix = `t-outage-${Date.now().toString(36)}/`;

describe('S3 outage behind a proxy', () => {
  let proxy: FlakyProxy;
  let server: HaulServer;
  let token: string;
  let down = false;

  beforeAll(async () => {
    const upstream = s3.env(prefix);
    proxy = await startFlakyProxy({
      target: upstream.S3_ENDPOINT,
      inject: () => (down ? rawResponse(503, 'Service Unavailable', { 'Content-Type': 'application/xml' }, '<Error><Code>ServiceUnavailable</Code></Error>') : undefined),
    });
    server = await startHaul({ env: { ...upstream, S3_ENDPOINT: proxy.url } });
    token = await server.token('outage');
  });
  afterAll(async () => {
    await server?.stop();
    await proxy?.close();
  });

  const outage = (on: boolean) => {
    down = on;
    proxy.cutAll(); // pooled connections to S3 end: every request opens a new one
  };

  it('answers 503 STORAGE_UNAVAILABLE while S3 is away, then resumes to identical bytes', async () => {
    const file = await randomFile(12 * MiB);
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    expect(await patchFile(url, token, file.path, { start: 0, end: 8 * MiB })).toMatchObject({ status: 204, offset: 8 * MiB });

    outage(true);
    const during = await patchFile(url, token, file.path, { start: 8 * MiB, end: file.size });
    expect(during.status).toBe(503);
    expect(JSON.parse(during.body)).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect((await head(url, token)).status).toBe(503);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);

    outage(false);
    expect((await head(url, token)).offset).toBe(8 * MiB);
    expect(await uploadRest(url, token, file, { from: 8 * MiB })).toBe(file.size);
    expect(await s3.sha256(s3.keyOf(prefix, 'outage', id))).toBe(file.sha256);
  });
});

describe('S3 that stops answering (a hung node) behind a proxy', () => {
  const STALL_MS = 2000;
  let proxy: FlakyProxy;
  let server: HaulServer;
  let token: string;

  beforeAll(async () => {
    const upstream = s3.env(prefix);
    proxy = await startFlakyProxy({ target: upstream.S3_ENDPOINT });
    server = await startHaul({ env: { ...upstream, S3_ENDPOINT: proxy.url, S3_STALL_TIMEOUT_MS: String(STALL_MS) } });
    token = await server.token('hung');
  });
  afterAll(async () => {
    await server?.stop();
    await proxy?.close();
  });

  it('a PATCH answers 503 after the stall limit and lets go of its upload; after, it resumes to identical bytes', async () => {
    const file = await randomFile(12 * MiB);
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    expect(await patchFile(url, token, file.path, { start: 0, end: 8 * MiB })).toMatchObject({ status: 204, offset: 8 * MiB });

    proxy.freeze();
    for (const attempt of ['first', 'second']) {
      // The second finds the upload free: the first let go of it when it answered (no 423 after a lock wait).
      const started = Date.now();
      const during = await patchFile(url, token, file.path, { start: 8 * MiB, end: file.size });
      const tookMs = Date.now() - started;
      console.info(`S3 hung, ${attempt} PATCH: ${during.status} after ${tookMs} ms (stall limit ${STALL_MS} ms)`);
      expect(during.status, attempt).toBe(503);
      expect(JSON.parse(during.body), attempt).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      // The reads it starts with, tried three times by the SDK: a few stall limits, not hours.
      expect(tookMs, attempt).toBeLessThan(10 * STALL_MS);
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
    }

    proxy.thaw();
    const offset = await offsetOf(url, token);
    expect(offset).toBeGreaterThanOrEqual(8 * MiB); // what was acknowledged is there
    expect(await uploadRest(url, token, file, { from: offset })).toBe(file.size);
    expect(await s3.sha256(s3.keyOf(prefix, 'hung', id))).toBe(file.sha256);
  }, 90_000);

  it('a PATCH whose parts S3 stops taking mid-write answers 503 after the stall limit; the upload resumes to identical bytes', async () => {
    const file = await randomFile(48 * MiB);
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    // S3 hangs once the PATCH's first part is on its way to it: its UploadParts stall mid-body.
    const sentBefore = proxy.stats.bytesUp;
    let patching = true;
    const hangs = (async () => {
      while (patching && proxy.stats.bytesUp - sentBefore < 4 * MiB) await sleep(5);
      if (patching) proxy.freeze();
      return patching;
    })();
    const started = Date.now();
    const during = await patchFile(url, token, file.path, { start: 0, end: file.size });
    const tookMs = Date.now() - started;
    patching = false;
    expect(await hangs).toBe(true); // S3 hung while the PATCH was writing
    console.info(`S3 hung mid-write: PATCH ${during.status} after ${tookMs} ms (stall limit ${STALL_MS} ms)`);
    expect(during.status).toBe(503);
    expect(JSON.parse(during.body)).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(tookMs).toBeLessThan(10 * STALL_MS);

    proxy.thaw();
    const offset = await offsetOf(url, token);
    expect(offset).toBeLessThan(file.size);
    expect(await uploadRest(url, token, file, { from: offset })).toBe(file.size);
    expect(await s3.sha256(s3.keyOf(prefix, 'hung', id))).toBe(file.sha256);
  }, 90_000);
});
