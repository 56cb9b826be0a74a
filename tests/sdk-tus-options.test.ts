import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHaulClient, devTokenProvider, type HaulClient, HaulError, type NodeUploadInput } from '@haul/client/node';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomFile, sha256 } from './helpers/files.js';
import { noisePng } from './helpers/fixtures.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { head, uploadIdOf } from './helpers/tus.js';
import { runUpload } from './helpers/tus-js.js';

/**
 * What the SDK hands to tus-js-client based uploaders such as Uppy's Tus plugin (the demo
 * app uses exactly this): tokens (refreshed on 401), parallel parts, a simulated slow network;
 * and the SDK's dev sign-in, server settings, authorised fetch and `watch`.
 */

const KiB = 1024;
const MiB = 2 ** 20;

/** tus-js-client, as Uppy drives it, with `options` from the SDK. */
async function tusUpload(file: string, options: tus.UploadOptions): Promise<string> {
  const data = await fsp.readFile(file);
  return runUpload(new tus.Upload(data, { metadata: { filename: path.basename(file), filetype: 'application/octet-stream' }, ...options }));
}

describe('SDK options for tus-js-client / Uppy', () => {
  let server: HaulServer;
  let client: HaulClient<NodeUploadInput>;
  let dir: string;

  beforeAll(async () => {
    server = await startHaul({ env: { WORKER: 'embedded', SCAN_MODE: 'off', ALLOWED_TYPES: 'image,pdf,text', MAX_UPLOAD_SIZE: '50MiB' } });
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-tus-options-'));
    client = createHaulClient({ endpoint: server.tusEndpoint, getToken: devTokenProvider({ user: 'uppy-user', baseUrl: server.url }), storage: false });
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('devTokenProvider signs in once, reuses the token, and signs in again when forced', async () => {
    let calls = 0;
    const getToken = devTokenProvider({ user: 'carol', baseUrl: server.url, fetch: (input, init) => (calls++, fetch(input, init)) });
    const [a, b] = await Promise.all([getToken({ forceRefresh: false }), getToken({ forceRefresh: false })]);
    expect(a).toBe(b);
    expect(calls).toBe(1);
    expect(await getToken({ forceRefresh: false })).toBe(a);
    await new Promise((r) => setTimeout(r, 1100)); // a new `iat`, so a new token
    expect(await getToken({ forceRefresh: true })).not.toBe(a);
    expect(calls).toBe(2);

    const bad = devTokenProvider({ user: 'not a user name!', baseUrl: server.url });
    const error = await Promise.resolve(bad({ forceRefresh: false })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HaulError);
    expect((error as HaulError).status).toBe(400);
  });

  it('serverConfig() mirrors the configuration: limits, accepted types and extensions', async () => {
    const config = await client.serverConfig();
    expect(config).toMatchObject({ authMode: 'dev', tusEndpoint: '/files/', maxUploadSize: 50 * MiB, scanning: false, concatenation: true });
    expect(config.maxImageSize).toBe(25 * MiB);
    expect(config.maxFileSize).toBe(50 * MiB); // capped by MAX_UPLOAD_SIZE
    expect(config.allowedTypes.categories).toEqual(['image', 'pdf', 'text']);
    expect(config.allowedTypes.mimeTypes).toEqual(expect.arrayContaining(['image/png', 'image/jpeg', 'image/jpg', 'application/pdf', 'text/plain']));
    expect(config.allowedTypes.mimeTypes).not.toContain('application/zip');
    expect(config.allowedTypes.extensions).toEqual(expect.arrayContaining(['.png', '.jpg', '.pdf', '.txt']));
    expect(config.allowedTypes.extensions).not.toContain('.zip');
    expect(config.thumbnailSizes).toEqual([160, 480, 1280]);
  });

  it('uploads in parallel parts with tusOptions({ parallel }) and the bytes arrive whole', async () => {
    // Text (random hex lines) is an accepted type, so processing records the file's SHA-256.
    const text = Buffer.from(randomBytes(1.5 * MiB).toString('hex').replace(/(.{99})/g, '$1\n'));
    const file = path.join(dir, 'notes.txt');
    await fsp.writeFile(file, text);
    const url = await tusUpload(file, { ...client.tusOptions({ parallel: 3 }), metadata: { filename: 'notes.txt', filetype: 'text/plain' } });
    expect((await head(url, await server.token('uppy-user'))).header('upload-concat')).toMatch(/^final;(\S+ ){2}\S+$/);
    const final = await client.watch(uploadIdOf(url), { timeoutMs: 60_000 });
    expect(final).toMatchObject({ status: 'ready', size: text.length, sha256: sha256(text) });
  });

  it('throttle: small PATCH requests, paced to about the asked rate', async () => {
    const source = await randomFile(256 * KiB, dir);
    const options = client.tusOptions({ throttle: { bytesPerSecond: 512 * KiB } });
    expect(options.chunkSize).toBe(64 * KiB);
    let patches = 0;
    const started = performance.now();
    await tusUpload(source.path, {
      ...options,
      onBeforeRequest: async (req) => {
        if (req.getMethod() === 'PATCH') patches++;
        await options.onBeforeRequest(req);
      },
    });
    expect(patches).toBe(4);
    // 4 × 64 KiB at 512 KiB/s: each answer is followed by a 125 ms pause.
    expect(performance.now() - started).toBeGreaterThanOrEqual(4 * 125 - 20);
  });

  it('a refused token is replaced once (forceRefresh) and the upload goes on', async () => {
    const requests: boolean[] = [];
    let current = 'expired.token.value';
    const refreshing = createHaulClient({
      endpoint: server.tusEndpoint,
      storage: false,
      getToken: async ({ forceRefresh }) => {
        requests.push(forceRefresh);
        if (forceRefresh) current = await server.token('dave');
        return current;
      },
    });
    const source = await randomFile(100 * KiB, dir);
    const url = await tusUpload(source.path, refreshing.tusOptions());
    expect(requests[0]).toBe(false);
    expect(requests.filter(Boolean)).toHaveLength(1);
    const id = uploadIdOf(url);
    expect((await refreshing.get(id)).offset).toBe(source.size);

    // A token refused even when fresh is final: no endless loop.
    const hopeless = createHaulClient({ endpoint: server.tusEndpoint, storage: false, getToken: () => 'never.valid.token' });
    const failure = await tusUpload(source.path, hopeless.tusOptions()).catch((e: unknown) => e as tus.DetailedError);
    expect((failure as tus.DetailedError).originalResponse?.getStatus()).toBe(401);
  });

  it('authorizedFetch reads a thumbnail; watch follows a clean image to ready', async () => {
    const png = path.join(dir, 'photo.png');
    await fsp.writeFile(png, await noisePng(600, 400));
    const url = await tusUpload(png, { ...client.tusOptions(), metadata: { filename: 'photo.png', filetype: 'image/png' } });
    const seen: string[] = [];
    const ready = await client.watch(uploadIdOf(url), { onStatus: (u) => seen.push(u.status), timeoutMs: 60_000 });
    expect(ready.status).toBe('ready');
    expect(seen.at(-1)).toBe('ready');
    const thumbnail = ready.thumbnails.find((t) => t.size === 160)!;
    const response = await client.authorizedFetch(thumbnail.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/webp');
    expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(100);
    expect((await fetch(`${server.url}${thumbnail.url}`)).status).toBe(401);
  });
});
