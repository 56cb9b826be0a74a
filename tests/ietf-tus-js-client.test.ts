import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import * as tus from 'tus-js-client';
import { type FlakyProxy, startFlakyProxy } from './helpers/flaky-proxy.js';
import { randomFile, sha256File, type SourceFile, storedPath } from './helpers/files.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { request } from './helpers/tus.js';
import { MemoryUrlStorage, runUpload } from './helpers/tus-js.js';
import { fetchUpload } from './helpers/uploads-api.js';

/**
 * tus-js-client speaking the IETF draft at interop version 6 (`protocol: 'ietf-draft-05'`, the
 * version iOS 18.1+'s URLSession speaks too) against Haul's /files/: through a network that
 * drops connections mid-body, and stopped and resumed by a second Upload from stored state.
 */

const KiB = 1024;

/** tus-js-client 4 implements `protocol` but its type declarations do not list it yet. */
type IetfUploadOptions = tus.UploadOptions & { protocol: 'ietf-draft-05' };
const MiB = 1024 * KiB;

describe('IETF resumable uploads, interop 6: tus-js-client protocol ietf-draft-05', () => {
  const user = 'ietf6-alice@example.com';
  let server: HaulServer;
  let proxy: FlakyProxy;
  let token: string;
  let source: SourceFile;

  const options = (endpoint: string, extra: Partial<tus.UploadOptions> = {}): IetfUploadOptions => ({
    endpoint, protocol: 'ietf-draft-05', chunkSize: 512 * KiB, headers: { Authorization: `Bearer ${token}` },
    metadata: { filename: 'ietf-draft-05.bin', filetype: 'application/octet-stream' },
    retryDelays: [0, 50, 100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
    ...extra,
  });
  const idOf = (url: string) => url.split('/').pop()!;

  beforeAll(async () => {
    [server, source] = await Promise.all([
      startHaul({ env: { DATABASE_URL: inject('databaseUrl') } }),
      randomFile(6 * MiB + 123),
    ]);
    token = await server.token(user);
    proxy = await startFlakyProxy({ target: server.url, dropRate: 0.35, budgetBytes: [128 * KiB, MiB], seed: 14 });
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), proxy?.close()]);
    if (source) await fsp.rm(path.dirname(source.path), { recursive: true, force: true });
  });

  it('answers interop 6 with its own names (104 with interop version 6, Upload-Limit expires=)', async () => {
    const res = await request({
      method: 'POST', url: server.tusEndpoint, token,
      headers: { 'Upload-Draft-Interop-Version': '6', 'Upload-Complete': '?0', 'Upload-Length': 10 },
    });
    expect(res.status).toBe(201);
    expect(res.header('upload-limit')).toMatch(/^max-size=\d+, min-size=0, expires=\d+$/);
    expect(res.header('tus-resumable')).toBeUndefined();
  });

  it('finishes byte-identical through connections dropped mid-body, resuming from HEAD each time', async () => {
    const url = await runUpload(new tus.Upload(fs.createReadStream(source.path), options(`${proxy.url}/files/`)), 120_000);
    expect(proxy.stats.dropped).toBeGreaterThan(0);
    const id = idOf(url);
    expect(await fetchUpload(server, token, id)).toMatchObject({ status: 'received', size: source.size, filename: 'ietf-draft-05.bin' });
    expect(await sha256File(storedPath(server.dataDir, user, id))).toBe(source.sha256);
  });

  it('is stopped mid-upload, then a new Upload resumes it from the stored URL without sending the first part again', async () => {
    const urlStorage = new MemoryUrlStorage();
    const first = new tus.Upload(fs.createReadStream(source.path), options(server.tusEndpoint, { urlStorage, storeFingerprintForResuming: true, removeFingerprintOnSuccess: true }));
    // The first run stops once 2 MiB are acknowledged, as a closed app would.
    await new Promise<void>((resolve, reject) => {
      first.options.onChunkComplete = (_chunk, accepted) => {
        if (accepted >= 2 * MiB) void first.abort().then(resolve, reject);
      };
      first.options.onError = reject;
      first.start();
    });
    const stored = await urlStorage.findAllUploads();
    expect(stored).toHaveLength(1);
    const uploadUrl = stored[0]!.uploadUrl!;

    const second = new tus.Upload(fs.createReadStream(source.path), options(server.tusEndpoint, { urlStorage, storeFingerprintForResuming: true, removeFingerprintOnSuccess: true }));
    const previous = await second.findPreviousUploads();
    expect(previous).toHaveLength(1);
    second.resumeFromPreviousUpload(previous[0]!);
    let resumedAt: number | undefined;
    second.options.onProgress = (sent) => {
      resumedAt ??= sent;
    };
    const url = await runUpload(second, 60_000);
    expect(url).toBe(uploadUrl);
    expect(resumedAt).toBeGreaterThanOrEqual(2 * MiB);
    const id = idOf(url);
    expect(await fetchUpload(server, token, id)).toMatchObject({ status: 'received', size: source.size });
    expect(await sha256File(storedPath(server.dataDir, user, id))).toBe(source.sha256);
    expect(await urlStorage.findAllUploads()).toHaveLength(0);
  });
});
