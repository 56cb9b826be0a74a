import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type UploadList, uploadListSchema } from '@haul/api';
import { userStorageKey } from '../server/src/auth/user.js';
import { storedPath } from './helpers/files.js';
import { asciiText, noisePng } from './helpers/fixtures.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { createPartial, createUpload, head, patch } from './helpers/tus.js';
import { partialPatch } from './helpers/tus-interrupted.js';
import { bearer, errorCode, LINK_SECRET, signLink, uploadReady } from './helpers/uploads-api.js';

/**
 * GET /api/uploads (newest first, cursor pages, status filter) and DELETE /api/uploads/:id on
 * disk storage: what is listed, and that a deleted upload leaves nothing behind — not its file,
 * its tus metadata, its previews, its place in listings, nor working links — and that deleting
 * an upload still in progress ends it.
 */

let server: HaulServer;

beforeAll(async () => {
  server = await startHaul({ env: { WORKER: 'embedded', SCAN_MODE: 'off', LINK_SECRET } });
});

afterAll(async () => {
  await server?.stop();
});

async function list(token: string, query = ''): Promise<UploadList> {
  const response = await fetch(`${server.url}/api/uploads${query}`, { headers: bearer(token) });
  if (response.status !== 200) throw new Error(`list ${query}: ${response.status} ${await response.text()}`);
  return uploadListSchema.strict().parse(await response.json());
}

/** Every page of a listing, following nextCursor. */
async function allPages(token: string, query: string): Promise<UploadList[]> {
  const pages = [await list(token, query)];
  while (pages.at(-1)!.nextCursor) pages.push(await list(token, `${query}&cursor=${encodeURIComponent(pages.at(-1)!.nextCursor!)}`));
  return pages;
}

const filesOf = async (user: string) =>
  (await fs.readdir(path.join(server.dataDir, 'files', userStorageKey(user))).catch(() => [] as string[])).sort();

describe('listing', () => {
  let token: string;
  /** Five ready uploads, oldest first. */
  const ready: string[] = [];
  let inProgress: string;
  let partial: string;

  beforeAll(async () => {
    token = await server.token('lister');
    for (let i = 0; i < 5; i++) ready.push((await uploadReady(server, token, asciiText(100 + i), { filename: `file-${i}.txt` })).id);
    const unfinished = await createUpload(server.tusEndpoint, token, { length: 100, metadata: { filename: 'later.txt' } });
    inProgress = unfinished.id;
    // A finished partial upload (tus Concatenation) is a piece of a future file, not a file.
    const part = await createPartial(server.tusEndpoint, token, 10);
    expect((await patch(part.url, token, 0, Buffer.from('0123456789'))).status).toBe(204);
    partial = part.id;
  });

  it('newest first; partial uploads are not listed; uploads in progress are', async () => {
    const { items, nextCursor } = await list(token);
    expect(nextCursor).toBeNull();
    expect(items.map((u) => u.id)).toEqual([inProgress, ...[...ready].reverse()]);
    expect(items.map((u) => u.id)).not.toContain(partial);
    const created = items.map((u) => Date.parse(u.createdAt));
    expect([...created].sort((a, b) => b - a)).toEqual(created);
    expect(items[0]).toMatchObject({ status: 'uploading', contentUrl: null });
    for (const item of items.slice(1)) expect(item).toMatchObject({ status: 'ready', contentUrl: `/api/uploads/${item.id}/content` });
  });

  it('limit=2 pages through everything exactly once, the last page with nextCursor null', async () => {
    const pages = await allPages(token, '?status=ready&limit=2');
    expect(pages.map((p) => p.items.length)).toEqual([2, 2, 1]);
    expect(pages.map((p) => p.nextCursor === null)).toEqual([false, false, true]);
    expect(pages.flatMap((p) => p.items.map((u) => u.id))).toEqual([...ready].reverse());
    // Unfiltered, with a page size that divides the total: no empty page at the end.
    const unfiltered = await allPages(token, '?limit=3');
    expect(unfiltered.map((p) => p.items.length)).toEqual([3, 3]);
    expect(unfiltered.flatMap((p) => p.items.map((u) => u.id))).toEqual([inProgress, ...[...ready].reverse()]);
  });

  it('a cursor keeps its place while new uploads arrive', async () => {
    const first = await list(token, '?status=ready&limit=2');
    const newer = await uploadReady(server, token, asciiText(50), { filename: 'newer.txt' });
    const second = await list(token, `?status=ready&limit=2&cursor=${first.nextCursor}`);
    expect(second.items.map((u) => u.id)).toEqual([ready[2], ready[1]]);
    expect((await list(token, '?status=ready&limit=1')).items[0]!.id).toBe(newer.id);
    ready.push(newer.id);
  });

  it('status filters: one status, several, and the empty result', async () => {
    expect((await list(token, '?status=ready')).items.every((u) => u.status === 'ready')).toBe(true);
    expect((await list(token, '?status=ready')).items).toHaveLength(ready.length);
    expect((await list(token, '?status=uploading')).items.map((u) => u.id)).toEqual([inProgress]);
    expect((await list(token, '?status=uploading,ready')).items).toHaveLength(ready.length + 1);
    expect(await list(token, '?status=rejected')).toEqual({ items: [], nextCursor: null });
  });

  it('bad queries → 400 INVALID_REQUEST', async () => {
    for (const query of ['?status=done', '?limit=0', '?limit=201', '?limit=two', '?cursor=garbage', `?cursor=${'x'.repeat(201)}`]) {
      const response = await fetch(`${server.url}/api/uploads${query}`, { headers: bearer(token) });
      expect(response.status, query).toBe(400);
      expect(await errorCode(response)).toBe('INVALID_REQUEST');
    }
  });

  it('deleted uploads leave the listing and its pages', async () => {
    const victim = ready.splice(2, 1)[0]!;
    expect((await fetch(`${server.url}/api/uploads/${victim}`, { method: 'DELETE', headers: bearer(token) })).status).toBe(204);
    const pages = await allPages(token, '?status=ready&limit=2');
    expect(pages.flatMap((p) => p.items.map((u) => u.id))).toEqual([...ready].reverse());
  });
});

describe('deleting on disk', () => {
  it('removes the file, its .json and its thumbnails; the upload is gone everywhere, links included', async () => {
    const token = await server.token('deleter');
    const png = await uploadReady(server, token, await noisePng(600, 400), { filename: 'photo.png' });
    const keep = await uploadReady(server, token, asciiText(10), { filename: 'keep.txt' });
    expect(png.thumbnails.map((t) => t.size)).toEqual([160, 480, 1280]);
    const before = await filesOf('deleter');
    expect(before).toEqual(
      [png.id, `${png.id}.json`, `${png.id}.thumb-160.webp`, `${png.id}.thumb-480.webp`, `${png.id}.thumb-1280.webp`, keep.id, `${keep.id}.json`].sort(),
    );
    const link = signLink(png.id, Math.floor(Date.now() / 1000) + 600);
    expect((await fetch(`${server.url}${link}`)).status).toBe(200);

    const response = await fetch(`${server.url}/api/uploads/${png.id}`, { method: 'DELETE', headers: bearer(token) });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');

    expect(await filesOf('deleter')).toEqual([keep.id, `${keep.id}.json`].sort());
    for (const p of [`/api/uploads/${png.id}`, `/api/uploads/${png.id}/content`, `/api/uploads/${png.id}/thumbnails/160`]) {
      const gone = await fetch(`${server.url}${p}`, { headers: bearer(token) });
      expect(gone.status, p).toBe(404);
      expect(await errorCode(gone)).toBe('UPLOAD_NOT_FOUND');
    }
    expect((await list(token)).items.map((u) => u.id)).toEqual([keep.id]);
    expect((await fetch(`${server.url}${link}`)).status).toBe(404);
    // Deleting again: already gone.
    const again = await fetch(`${server.url}/api/uploads/${png.id}`, { method: 'DELETE', headers: bearer(token) });
    expect(again.status).toBe(404);
    // The other upload is untouched.
    expect((await fetch(`${server.url}/api/uploads/${keep.id}/content`, { headers: bearer(token) })).status).toBe(200);
  });

  it('another user cannot delete (404) and the file stays', async () => {
    const [owner, other] = await Promise.all([server.token('owner-d'), server.token('other-d')]);
    const file = await uploadReady(server, owner, asciiText(10), { filename: 'mine.txt' });
    const response = await fetch(`${server.url}/api/uploads/${file.id}`, { method: 'DELETE', headers: bearer(other) });
    expect(response.status).toBe(404);
    expect(await errorCode(response)).toBe('UPLOAD_NOT_FOUND');
    expect(await filesOf('owner-d')).toEqual([file.id, `${file.id}.json`]);
    expect((await fetch(`${server.url}/api/uploads/${file.id}/content`, { headers: bearer(owner) })).status).toBe(200);
  });

  it('deleting an upload in progress terminates it: tus answers 410 and its bytes are gone', async () => {
    const token = await server.token('halfway');
    const created = await createUpload(server.tusEndpoint, token, { length: 1000, metadata: { filename: 'half.txt' } });
    expect((await patch(created.url, token, 0, Buffer.alloc(300, 'h'))).status).toBe(204);
    expect(await filesOf('halfway')).toEqual([created.id, `${created.id}.json`]);

    const response = await fetch(`${server.url}/api/uploads/${created.id}`, { method: 'DELETE', headers: bearer(token) });
    expect(response.status).toBe(204);
    expect((await head(created.url, token)).status).toBe(410);
    const late = await patch(created.url, token, 300, Buffer.alloc(10, 'h'));
    expect([404, 410]).toContain(late.status);
    expect(await filesOf('halfway')).toEqual([]);
    expect((await list(token)).items).toEqual([]);
  });

  it('deleting while a PATCH is still sending ends that PATCH, then removes everything', async () => {
    const token = await server.token('racer');
    const size = 4 * 2 ** 20;
    const created = await createUpload(server.tusEndpoint, token, { length: size, metadata: { filename: 'slow.txt' } });
    // A PATCH that sends 64 KiB and then stalls, holding the upload's lock.
    const stalled = await partialPatch(created.url, token, Buffer.alloc(64 * 1024, 'r'), { offset: 0, send: 64 * 1024, declared: size });
    // Wait until the server has the bytes (the file grows on disk).
    const file = storedPath(server.dataDir, 'racer', created.id);
    for (let i = 0; i < 100 && ((await fs.stat(file).catch(() => undefined))?.size ?? 0) === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await fs.stat(file)).size).toBeGreaterThan(0);

    const started = Date.now();
    const response = await fetch(`${server.url}/api/uploads/${created.id}`, { method: 'DELETE', headers: bearer(token) });
    expect(response.status).toBe(204);
    // The PATCH holding the lock gets a 3 s grace to finish its chunk before it is ended (tus-route.ts).
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await Promise.race([stalled.done, new Promise((r) => setTimeout(() => r('still running'), 5_000))])).not.toBe('still running');
    await stalled.abort();
    expect(await filesOf('racer')).toEqual([]);
    expect((await head(created.url, token)).status).toBe(410);
  });
});
