import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userStorageKey } from '../server/src/auth/user.js';
import { sha256 } from './helpers/files.js';
import { asciiText, noisePng } from './helpers/fixtures.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { localS3 } from './helpers/s3.js';
import { createUpload, head, patch } from './helpers/tus.js';
import { bearer, LINK_SECRET, signLink, uploadReady } from './helpers/uploads-api.js';

/**
 * The files API on S3 (the local Swift): downloads are a 302 to a short-lived presigned URL whose
 * query makes S3 answer with our Content-Type and Content-Disposition; deleting removes every
 * object of an upload, and aborts the multipart upload of one still in progress.
 */

const s3 = localS3();
const prefix = `t-files-${randomBytes(4).toString('hex')}/`;
const NAME = 'Überweisung “März” 請求書.txt';
let server: HaulServer;
let token: string;
const userPrefix = (user: string) => `${prefix}${userStorageKey(user)}/`;

beforeAll(async () => {
  server = await startHaul({ env: { ...s3.env(prefix), S3_PART_SIZE: '5MiB', WORKER: 'embedded', SCAN_MODE: 'off', LINK_SECRET } });
  token = await server.token('s3-user');
});

afterAll(async () => {
  await server?.stop();
  // Leave the shared bucket as we found it.
  const keys = await s3.listKeys(prefix);
  if (keys.length > 0) await s3.client.deleteObjects({ Bucket: s3.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } });
});

/** The 302 of a download, and what its Location answers. */
async function followPresigned(url: string, headers: Record<string, string> = {}, presignedHeaders: Record<string, string> = {}) {
  const redirect = await fetch(url, { headers, redirect: 'manual' });
  expect(redirect.status).toBe(302);
  expect(redirect.headers.get('cache-control')).toBe('private, no-store');
  expect(redirect.headers.get('referrer-policy')).toBe('no-referrer');
  const location = new URL(redirect.headers.get('location')!);
  expect(location.origin).toBe(new URL(s3.env().S3_ENDPOINT).origin);
  const query = location.searchParams;
  expect(query.get('X-Amz-Expires')).toBe('300');
  return { location, query, object: await fetch(location, { headers: presignedHeaders }) };
}

describe('downloads on S3', () => {
  let text: { id: string; bytes: Buffer };
  let png: { id: string; bytes: Buffer };

  beforeAll(async () => {
    const textBytes = asciiText(2000);
    const pngBytes = await noisePng(120, 90);
    const [t, p] = await Promise.all([
      uploadReady(server, token, textBytes, { filename: NAME, filetype: 'text/plain' }),
      uploadReady(server, token, pngBytes, { filename: 'pixels.png' }),
    ]);
    text = { id: t.id, bytes: textBytes };
    png = { id: p.id, bytes: pngBytes };
  });

  it('content → 302 to a presigned URL serving the right bytes, type and disposition', async () => {
    const { query, object } = await followPresigned(`${server.url}/api/uploads/${text.id}/content`, bearer(token));
    expect(query.get('response-content-type')).toBe('text/plain');
    expect(query.get('response-content-disposition')).toMatch(/^attachment; filename="[^"]*"; filename\*=UTF-8''/);
    expect(object.status).toBe(200);
    expect(object.headers.get('content-type')).toBe('text/plain');
    const disposition = object.headers.get('content-disposition')!;
    expect(disposition).toBe(query.get('response-content-disposition'));
    expect(decodeURIComponent(/filename\*=UTF-8''(\S+)/.exec(disposition)![1]!)).toBe(NAME);
    expect(sha256(Buffer.from(await object.arrayBuffer()))).toBe(sha256(text.bytes));
  });

  it('an image: image/png, inline; a range request against the presigned URL works too', async () => {
    const { object } = await followPresigned(`${server.url}/api/uploads/${png.id}/content`, bearer(token));
    expect(object.headers.get('content-type')).toBe('image/png');
    expect(object.headers.get('content-disposition')).toMatch(/^inline; filename="pixels.png"/);
    expect(sha256(Buffer.from(await object.arrayBuffer()))).toBe(sha256(png.bytes));
    const ranged = await followPresigned(`${server.url}/api/uploads/${png.id}/content`, bearer(token), { Range: 'bytes=0-15' });
    expect(ranged.object.status).toBe(206);
    expect(Buffer.from(await ranged.object.arrayBuffer()).equals(png.bytes.subarray(0, 16))).toBe(true);
  });

  it('a share link → the same kind of redirect, without login', async () => {
    const response = await fetch(`${server.url}/api/uploads/${text.id}/links`, { method: 'POST', headers: bearer(token) });
    expect(response.status).toBe(201);
    const { url } = (await response.json()) as { url: string };
    const { object } = await followPresigned(url);
    expect(object.status).toBe(200);
    expect(object.headers.get('content-type')).toBe('text/plain');
    expect(object.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(sha256(Buffer.from(await object.arrayBuffer()))).toBe(sha256(text.bytes));
  });

  it('a presigned URL cannot be bent to another object or other headers', async () => {
    const { location } = await followPresigned(`${server.url}/api/uploads/${text.id}/content`, bearer(token));
    const otherHeaders = new URL(location);
    otherHeaders.searchParams.set('response-content-type', 'text/html');
    expect((await fetch(otherHeaders)).status).toBe(403);
    const otherKey = new URL(location);
    otherKey.pathname = otherKey.pathname.replace(text.id, png.id);
    expect((await fetch(otherKey)).status).toBe(403);
  });
});

describe('deleting on S3', () => {
  it('removes the object, its .info and its thumbnails, and nothing else', async () => {
    const user = 's3-deleter';
    const owner = await server.token(user);
    const [photo, keep] = await Promise.all([
      uploadReady(server, owner, await noisePng(500, 300), { filename: 'photo.png' }),
      uploadReady(server, owner, asciiText(10), { filename: 'keep.txt' }),
    ]);
    const base = userPrefix(user);
    expect(await s3.listKeys(base)).toEqual(
      [photo.id, `${photo.id}.info`, `${photo.id}.thumb-160.webp`, `${photo.id}.thumb-480.webp`, `${photo.id}.thumb-1280.webp`, keep.id, `${keep.id}.info`]
        .map((k) => `${base}${k}`)
        .sort(),
    );
    const link = signLink(photo.id, Math.floor(Date.now() / 1000) + 600);

    const response = await fetch(`${server.url}/api/uploads/${photo.id}`, { method: 'DELETE', headers: bearer(owner) });
    expect(response.status).toBe(204);
    expect(await s3.listKeys(base)).toEqual([`${base}${keep.id}`, `${base}${keep.id}.info`]);
    expect((await fetch(`${server.url}/api/uploads/${photo.id}/content`, { headers: bearer(owner), redirect: 'manual' })).status).toBe(404);
    expect((await fetch(`${server.url}${link}`, { redirect: 'manual' })).status).toBe(404);
    const listing = (await (await fetch(`${server.url}/api/uploads`, { headers: bearer(owner) })).json()) as { items: Array<{ id: string }> };
    expect(listing.items.map((u) => u.id)).toEqual([keep.id]);
  });

  it('an upload in progress: its multipart upload is aborted, its objects removed, tus answers 410', async () => {
    const user = 's3-halfway';
    const owner = await server.token(user);
    const size = 12 * 2 ** 20;
    const created = await createUpload(server.tusEndpoint, owner, { length: size, metadata: { filename: 'big.txt' } });
    // One full 5 MiB part and 1 MiB held back as an incomplete part.
    expect((await patch(created.url, owner, 0, asciiText(6 * 2 ** 20))).status).toBe(204);
    const base = userPrefix(user);
    expect(await s3.listMultipartKeys(base)).toEqual([`${base}${created.id}`]);
    expect((await s3.listKeys(base)).length).toBeGreaterThan(0);

    const response = await fetch(`${server.url}/api/uploads/${created.id}`, { method: 'DELETE', headers: bearer(owner) });
    expect(response.status).toBe(204);
    expect(await s3.listMultipartKeys(base)).toEqual([]);
    expect(await s3.listKeys(base)).toEqual([]);
    expect((await head(created.url, owner)).status).toBe(410);
  });
});
