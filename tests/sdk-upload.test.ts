import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHaulClient, type NodeHaulClientOptions, type UploadState } from '@haul/client/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, type SourceFile, textFile } from './helpers/files.js';
import { type FlakyProxy, rawResponse, startFlakyProxy } from './helpers/flaky-proxy.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { rejection, sdkClient, storedUploads } from './helpers/sdk.js';
import { createUpload, head, offsetOf, uploadIdOf } from './helpers/tus.js';
import { waitFor } from './helpers/wait.js';

/**
 * The SDK (`@haul/client/node`, as built) uploading to the real server: by path, stream and
 * bytes, single and parallel (tus concatenation), the fallback when the server does not offer
 * concatenation, pause/resume, resuming in a new client, abort (termination), 429 handling.
 * The files API and waiting for processing: sdk-files-api.test.ts.
 */

const MiB = 2 ** 20;

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-sdk-'));
});
afterAll(async () => {
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

describe('SDK uploads (worker on, no scanning)', () => {
  let server: HaulServer;
  let small: SourceFile; // 7 MiB + 3
  let medium: SourceFile; // 24 MiB
  const proxies: FlakyProxy[] = [];

  const client = (user: string, extra: Partial<NodeHaulClientOptions> = {}) => sdkClient(server, dir, user, extra);
  const proxy = async (options: Partial<Parameters<typeof startFlakyProxy>[0]> = {}) => {
    const p = await startFlakyProxy({ target: server.url, ...options });
    proxies.push(p);
    return p;
  };

  beforeAll(async () => {
    server = await startHaul({ env: { WORKER: 'embedded', SCAN_MODE: 'off' } });
    small = await textFile(dir, 'small.txt', 7 * MiB + 3);
    medium = await textFile(dir, 'medium.txt', 24 * MiB);
  });
  afterAll(async () => {
    for (const p of proxies) await p.close();
    await server?.stop();
  });

  it('uploads a file by path: result is the processed record, progress and states along the way', async () => {
    const { client: haul, token } = await client('sdk-single');
    const states: UploadState[] = [];
    const statuses: string[] = [];
    const progress: Array<{ sent: number; acked: number; total: number | null }> = [];
    const handle = haul.upload(small.path, {
      onStateChange: (state) => states.push(state),
      onStatus: (upload) => statuses.push(upload.status),
      onProgress: (p) => progress.push({ sent: p.bytesSent, acked: p.bytesAcknowledged, total: p.bytesTotal }),
    });
    const upload = await handle.result;
    expect(upload).toMatchObject({ status: 'ready', size: small.size, sha256: small.sha256, filename: 'small.txt', detectedType: 'text/plain', scanned: false });
    expect(handle.id).toBe(upload.id);
    expect(handle.state).toBe('done');
    expect(handle.resumedFrom).toBeNull();
    expect(states).toEqual(['uploading', 'processing', 'done']);
    expect(statuses.at(-1)).toBe('ready');
    expect(progress.at(-1)).toEqual({ sent: small.size, acked: small.size, total: small.size });
    expect((await handle.uploaded).id).toBe(upload.id);
    // Complete on the server, and not a concatenation.
    const complete = await head(handle.uploadUrl!, token);
    expect(complete).toMatchObject({ status: 200, offset: small.size });
    expect(complete.header('upload-concat')).toBeUndefined();
  });

  it('parallel: 4 partial uploads of at least 5 MiB, concatenated; a small file gets fewer parts', async () => {
    const { client: haul, token } = await client('sdk-parallel');
    const [four, one] = await Promise.all([
      haul.upload(medium.path, { parallel: 4 }).result,
      // 7 MiB: one 5 MiB part at most fits, so a single stream.
      haul.upload(small.path, { parallel: 4 }).result,
    ]);
    expect(four).toMatchObject({ status: 'ready', size: medium.size, sha256: medium.sha256, filename: 'medium.txt' });
    expect(one).toMatchObject({ status: 'ready', sha256: small.sha256 });
    const final = await head(`${server.tusEndpoint}${four.id}`, token);
    expect(final.header('upload-concat')).toMatch(/^final;/);
    expect(final.header('upload-concat')!.slice('final;'.length).split(' ')).toHaveLength(4);
    expect((await head(`${server.tusEndpoint}${one.id}`, token)).header('upload-concat')).toBeUndefined();

    const twelve = await textFile(dir, 'twelve.txt', 12 * MiB);
    const two = await haul.upload(twelve.path, { parallel: 8 }).result;
    expect(two.sha256).toBe(twelve.sha256);
    expect((await head(`${server.tusEndpoint}${two.id}`, token)).header('upload-concat')!.split(' ')).toHaveLength(2);
  });

  it('falls back to a single stream when OPTIONS does not advertise concatenation', async () => {
    const p = await proxy({
      inject: (req) =>
        req.method === 'OPTIONS'
          ? rawResponse(204, 'No Content', { 'Tus-Resumable': '1.0.0', 'Tus-Version': '1.0.0', 'Tus-Extension': 'creation,termination' })
          : undefined,
    });
    const { client: haul, token } = await client('sdk-fallback', { endpoint: `${p.url}/files/` });
    const upload = await haul.upload(medium.path, { parallel: 4 }).result;
    expect(p.stats.injected).toBe(1);
    expect(upload.sha256).toBe(medium.sha256);
    expect((await head(`${server.tusEndpoint}${upload.id}`, token)).header('upload-concat')).toBeUndefined();
  });

  it('takes Buffers, Uint8Arrays, ArrayBuffers, Blobs and fs streams (whole or a range)', async () => {
    const { client: haul } = await client('sdk-inputs');
    const bytes = Buffer.from('hello from a buffer\n'.repeat(1000));
    const results = await Promise.all([
      haul.upload(bytes, { metadata: { filename: 'buffer.txt' } }).result,
      haul.upload(new Uint8Array(bytes), { metadata: { filename: 'u8.txt' } }).result,
      haul.upload(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), { metadata: { filename: 'ab.txt' } }).result,
      haul.upload(new Blob([bytes], { type: 'text/plain' }), { metadata: { filename: 'blob.txt' } }).result,
      haul.upload(fs.createReadStream(small.path), {}).result,
      haul.upload(fs.createReadStream(small.path, { start: 100, end: 100 + MiB - 1 }), { metadata: { filename: 'range.txt' } }).result,
    ]);
    for (const upload of results.slice(0, 4)) expect(upload).toMatchObject({ status: 'ready', sha256: sha256(bytes), size: bytes.length });
    expect(results[3]!.declaredType).toBe('text/plain');
    expect(results[4]).toMatchObject({ sha256: small.sha256, filename: 'small.txt' });
    const range = (await fsp.readFile(small.path)).subarray(100, 100 + MiB);
    expect(results[5]).toMatchObject({ sha256: sha256(range), size: MiB });
    await expect(haul.upload(path.join(dir, 'missing.txt')).result).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('pause() stops sending, resume() continues from the server offset', async () => {
    const p = await proxy({ bytesPerSecond: 8 * MiB });
    const { client: haul, token } = await client('sdk-pause', { endpoint: `${p.url}/files/` });
    // 1 MiB chunks: a checksummed chunk counts only whole, so the pause must fall after some.
    const handle = haul.upload(medium.path, { chunkSize: MiB });
    await waitFor(() => handle.uploadUrl !== null && handle.progress.bytesSent >= 4 * MiB, { timeoutMs: 20_000, what: 'progress' });
    handle.pause();
    expect(handle.state).toBe('paused');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const url = handle.uploadUrl!;
    const paused = await head(url.replace(p.url, server.url), token);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await head(url.replace(p.url, server.url), token)).offset).toBe(paused.offset);
    expect(paused.offset).toBeGreaterThan(0);
    expect(paused.offset).toBeLessThan(medium.size);
    p.set({ bytesPerSecond: null });
    handle.resume();
    const upload = await handle.result;
    expect(upload.id).toBe(uploadIdOf(url));
    expect(upload.sha256).toBe(medium.sha256);
  });

  it('a new client resumes an upload an earlier one left unfinished (resume state on disk)', async () => {
    const p = await proxy({ bytesPerSecond: 2 * MiB });
    const first = await client('sdk-resume', { endpoint: `${p.url}/files/` });
    // 1 MiB chunks: a checksummed chunk counts only whole, so the abort must fall after some.
    const handle = first.client.upload(medium.path, { parallel: 3, chunkSize: MiB });
    await waitFor(async () => (await storedUploads(first.cacheDir)).some((u) => u.parallelUploadUrls?.length === 3), { timeoutMs: 20_000, what: 'stored partial URLs' });
    await waitFor(() => handle.progress.bytesSent >= 4 * MiB, { timeoutMs: 20_000, what: 'progress' });
    await handle.abort({ terminate: false });
    await expect(handle.result).rejects.toMatchObject({ code: 'ABORTED' });
    const [stored] = await storedUploads(first.cacheDir);
    let onServer = 0;
    for (const url of stored!.parallelUploadUrls!) onServer += await offsetOf(url.replace(p.url, server.url), first.token);
    expect(onServer).toBeGreaterThan(0);

    p.set({ bytesPerSecond: null });
    const second = createHaulClient({ endpoint: `${p.url}/files/`, getToken: () => first.token, cacheDir: first.cacheDir, retry: { initialDelayMs: 50 } });
    const resumed = second.upload(medium.path, { parallel: 3 });
    const upload = await resumed.result;
    expect(resumed.resumedFrom).toBeGreaterThanOrEqual(onServer);
    expect(upload.sha256).toBe(medium.sha256);
    // The resumed upload is the concatenation of the same partial uploads.
    const final = await head(`${server.tusEndpoint}${upload.id}`, first.token);
    expect(final.header('upload-concat')!.slice('final;'.length).split(' ').map((u) => uploadIdOf(u))).toEqual(
      stored!.parallelUploadUrls!.map((u) => uploadIdOf(u)),
    );
    expect(await storedUploads(first.cacheDir)).toEqual([]);
  });

  it('abort() terminates the upload on the server (single and parallel) and forgets it', async () => {
    const p = await proxy({ bytesPerSecond: 8 * MiB });
    const { client: haul, token, cacheDir } = await client('sdk-abort', { endpoint: `${p.url}/files/` });
    const single = haul.upload(medium.path);
    await waitFor(() => single.progress.bytesSent >= 2 * MiB && single.uploadUrl !== null, { timeoutMs: 20_000, what: 'progress' });
    await single.abort();
    const error = await rejection(single.result);
    expect(error).toMatchObject({ code: 'ABORTED', retryable: false });
    expect(single.state).toBe('aborted');
    expect([404, 410]).toContain((await head(single.uploadUrl!.replace(p.url, server.url), token)).status);

    const parallel = haul.upload(medium.path, { parallel: 4 });
    await waitFor(async () => (await storedUploads(cacheDir)).some((u) => u.parallelUploadUrls?.length === 4), { timeoutMs: 20_000, what: 'partials' });
    const [stored] = await storedUploads(cacheDir);
    await parallel.abort();
    await expect(parallel.result).rejects.toMatchObject({ code: 'ABORTED' });
    for (const url of stored!.parallelUploadUrls!) expect([404, 410]).toContain((await head(url.replace(p.url, server.url), token)).status);
    expect(await storedUploads(cacheDir)).toEqual([]);

    // An AbortSignal does the same.
    const controller = new AbortController();
    const signalled = haul.upload(small.path, { signal: controller.signal });
    await waitFor(() => signalled.uploadUrl !== null, { timeoutMs: 20_000, what: 'upload URL' });
    controller.abort();
    await expect(signalled.result).rejects.toMatchObject({ code: 'ABORTED' });
    await waitFor(async () => [404, 410].includes((await head(signalled.uploadUrl!.replace(p.url, server.url), token)).status), { timeoutMs: 10_000, what: 'termination' });
  });

  it('honours 429 Retry-After on tus requests and on the JSON API', async () => {
    const tooMany = rawResponse(429, 'Too Many Requests', { 'Retry-After': '1', 'Content-Type': 'application/json', 'Tus-Resumable': '1.0.0' }, JSON.stringify({ code: 'RATE_LIMITED', message: 'slow down' }));
    /** A proxy answering the first `times` requests matching `match` (each the first on its connection) with a 429. */
    const limited = (match: (method: string, path: string) => boolean, times = 1) => {
      const seen: number[] = [];
      return {
        seen,
        proxy: proxy({
          inject: (req) => {
            if (!match(req.method, req.path)) return undefined;
            seen.push(Date.now());
            return seen.length <= times ? tooMany : undefined;
          },
        }),
      };
    };
    const tus = limited((method, path) => method === 'POST' && path.startsWith('/files'));
    const retries: Array<{ code: string; delayMs: number }> = [];
    const { client: haul } = await client('sdk-429', { endpoint: `${(await tus.proxy).url}/files/` });
    const upload = await haul.upload(Buffer.from('rate limited\n'), { metadata: { filename: 'a.txt' }, onRetry: ({ error, delayMs }) => retries.push({ code: error.code, delayMs }) }).result;
    expect(upload.status).toBe('ready');
    expect(tus.seen.length).toBe(2);
    expect(tus.seen[1]! - tus.seen[0]!).toBeGreaterThanOrEqual(1000);
    expect(retries).toEqual([{ code: 'RATE_LIMITED', delayMs: expect.any(Number) }]);
    expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(1000);

    // A fresh proxy (a new origin, so no pooled connection): its first GET gets the 429.
    const api = limited((method, path) => method === 'GET' && path.startsWith('/api/uploads/'));
    const { client: apiClient } = await client('sdk-429', { apiBaseUrl: (await api.proxy).url });
    const started = Date.now();
    expect((await apiClient.get(upload.id)).id).toBe(upload.id);
    expect(api.seen.length).toBe(2);
    expect(api.seen[1]! - api.seen[0]!).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it("a Retry-After longer than maxRetryAfterMs fails at once with the server's code (TOO_MANY_UPLOADS)", async () => {
    const { client: haul, token } = await client('sdk-cap', { retry: { maxRetryAfterMs: 5_000, initialDelayMs: 50 } });
    // MAX_CONCURRENT_UPLOADS_PER_USER defaults to 50 unfinished uploads.
    const unfinished: string[] = [];
    for (let i = 0; i < 50; i++) {
      unfinished.push((await createUpload(server.tusEndpoint, token, { length: 10 })).id);
    }
    const started = Date.now();
    const error = await rejection(haul.upload(Buffer.from('one too many\n'), { metadata: { filename: 'x.txt' } }).result);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toMatchObject({ code: 'TOO_MANY_UPLOADS', status: 429, retryable: true, retryAfterSeconds: 30 });
    await haul.delete(unfinished[0]!);
    expect((await haul.upload(Buffer.from('room again\n'), { metadata: { filename: 'y.txt' } }).result).status).toBe('ready');
  });
});
