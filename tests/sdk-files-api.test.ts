import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHaulClient, type HaulClient, type NodeUploadInput, type UploadJson } from '@haul/client/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from './helpers/files.js';
import { elfBinary, eicarFile, noisePng } from './helpers/fixtures.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { scopedToken } from './helpers/host-app.js';
import { rejection, sdkClient } from './helpers/sdk.js';

/**
 * The SDK's JSON API against the real server, past the upload itself: the files API (get, list
 * with cursors, download, share links, delete) and waiting for processing (a clean file, EICAR, a
 * spoofed type). Uploading: sdk-upload.test.ts.
 */

describe('SDK files API (worker on, no scanning)', () => {
  let server: HaulServer;
  let dir: string;

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-sdk-api-'));
    server = await startHaul({ env: { WORKER: 'embedded', SCAN_MODE: 'off' } });
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('files API: get, list with cursors, download, share link, delete — validated against the server schemas', async () => {
    // Uploads in a scope need a member of it: the token's scopes claim says so.
    const token = await scopedToken(server, 'sdk-files', ['docs']);
    const { client: haul } = await sdkClient(server, dir, 'sdk-files', { getToken: () => token });
    const uploads: UploadJson[] = [];
    for (const name of ['one.txt', 'two.txt', 'three.txt']) {
      uploads.push(await haul.upload(Buffer.from(`${name}\n`), { metadata: { filename: name, scope: 'docs' } }).result);
    }
    expect(uploads.map((u) => u.scope)).toEqual(['docs', 'docs', 'docs']);
    expect(await haul.get(uploads[0]!.id)).toEqual(uploads[0]);

    const page = await haul.list({ limit: 2 });
    expect(page.items.map((u) => u.filename)).toEqual(['three.txt', 'two.txt']);
    expect(page.nextCursor).toEqual(expect.any(String));
    expect((await haul.list({ cursor: page.nextCursor!, limit: 2 })).items.map((u) => u.filename)).toEqual(['one.txt']);
    const all: string[] = [];
    for await (const upload of haul.listAll({ status: ['ready'], limit: 1 })) all.push(upload.filename!);
    expect(all).toEqual(['three.txt', 'two.txt', 'one.txt']);
    expect((await haul.list({ status: 'rejected' })).items).toEqual([]);

    const content = await fetch(haul.downloadUrl(uploads[1]!.id), { headers: { Authorization: `Bearer ${token}` } });
    expect(await content.text()).toBe('two.txt\n');
    const link = await haul.createLink(uploads[1]!.id, { expiresIn: 120 });
    expect(Date.parse(link.expiresAt) - Date.now()).toBeLessThanOrEqual(121_000);
    expect(await (await fetch(link.url)).text()).toBe('two.txt\n');
    await expect(haul.createLink(uploads[1]!.id, { expiresIn: 5 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });

    await haul.delete(uploads[2]!.id);
    const gone = await rejection(haul.get(uploads[2]!.id));
    expect(gone).toMatchObject({ code: 'UPLOAD_NOT_FOUND', status: 404, retryable: false });
    await expect(haul.waitForReady(uploads[0]!.id)).resolves.toMatchObject({ status: 'ready' });
  });
});

describe('SDK waitForReady with scanning (clamd)', () => {
  let server: HaulServer;
  let haul: HaulClient<NodeUploadInput>;

  beforeAll(async () => {
    server = await startHaul({
      env: { WORKER: 'embedded', SCAN_MODE: 'required', CLAMD_HOST: '127.0.0.1', CLAMD_PORT: process.env.TEST_CLAMD_PORT ?? '3310' },
    });
    const token = await server.token('sdk-scan');
    haul = createHaulClient({ endpoint: server.tusEndpoint, getToken: () => token, storage: false });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a clean image: ready, scanned, with thumbnails', async () => {
    const png = await noisePng(320, 200);
    const { id } = await haul.upload(png, { metadata: { filename: 'clean.png', filetype: 'image/png' }, waitForProcessing: false }).uploaded;
    const statuses: string[] = [];
    const ready = await haul.waitForReady(id, { onStatus: (u) => statuses.push(u.status), timeoutMs: 60_000 });
    expect(ready).toMatchObject({ id, status: 'ready', scanned: true, detectedType: 'image/png', sha256: sha256(png) });
    expect(ready.thumbnails.length).toBeGreaterThan(0);
    expect(statuses.at(-1)).toBe('ready');
  });

  it('EICAR: result and waitForReady reject with UPLOAD_INFECTED and the record', async () => {
    const handle = haul.upload(eicarFile(), { metadata: { filename: 'eicar.txt', filetype: 'text/plain' } });
    const error = await rejection(handle.result);
    expect(error).toMatchObject({ code: 'UPLOAD_INFECTED', retryable: false });
    expect(error.upload).toMatchObject({ status: 'infected', reason: expect.stringMatching(/eicar/i) });
    expect(handle.state).toBe('failed');
    const again = await rejection(haul.waitForReady(error.upload!.id, { events: false }));
    expect(again.code).toBe('UPLOAD_INFECTED');
  });

  it('a spoofed type (an ELF executable named and declared as PNG): refused from its first bytes, not retried; then UPLOAD_REJECTED', async () => {
    const handle = haul.upload(elfBinary(), { metadata: { filename: 'photo.png', filetype: 'image/png' }, waitForProcessing: false });
    const refused = await rejection(handle.uploaded);
    expect(refused).toMatchObject({ code: 'FILE_NOT_ACCEPTED', status: 415, retryable: false });
    expect(refused.message).toMatch(/executable/);
    expect(handle.state).toBe('failed');
    const { id } = (await haul.list({ status: 'rejected' })).items.find((u) => u.filename === 'photo.png')!;
    const error = await rejection(haul.waitForReady(id));
    expect(error).toMatchObject({ code: 'UPLOAD_REJECTED', retryable: false });
    expect(error.upload).toMatchObject({ id, status: 'rejected', detectedType: 'application/x-elf' });
  });
});
