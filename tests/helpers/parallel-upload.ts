import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as tus from 'tus-js-client';
import { userStorageKey } from '../../server/src/auth/user.js';

/**
 * Helpers for the tus Concatenation tests: raw partial/final requests, tus-js-client parallel
 * uploads, and an in-memory URL storage so two Upload instances can share resume state.
 */

const MiB = 2 ** 20;

export const tusHeaders = (token: string) => ({ 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}` });

/** POST /files with Upload-Concat: partial and Upload-Length (or deferred); returns the absolute URL and id. */
export async function createPartial(endpoint: string, token: string, length: number | 'deferred', headers: Record<string, string> = {}) {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      ...tusHeaders(token),
      ...(length === 'deferred' ? { 'Upload-Defer-Length': '1' } : { 'Upload-Length': String(length) }),
      'Upload-Concat': 'partial',
      ...headers,
    },
  });
  if (response.status !== 201) throw new Error(`create partial: ${response.status} ${await response.text()}`);
  const url = new URL(response.headers.get('location')!, endpoint).toString();
  return { url, id: idOf(url), path: new URL(url).pathname };
}

export const idOf = (url: string) => new URL(url, 'http://x').pathname.split('/').pop()!;

/** PATCHes bytes [start, end) of `file` (one request, streamed; ranges of a few MiB). */
export async function patchRange(url: string, token: string, file: string, start: number, end: number, offset = 0) {
  const body = end > start ? await readRange(file, start, end) : Buffer.alloc(0);
  const response = await fetch(url, {
    method: 'PATCH',
    headers: {
      ...tusHeaders(token),
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
    },
    body,
  });
  if (response.status !== 204) throw new Error(`PATCH ${url}: ${response.status} ${await response.text()}`);
  return Number(response.headers.get('upload-offset'));
}

/** Creates a partial holding bytes [start, end) of `file`, uploaded in PATCHes of `chunk` bytes. */
export async function uploadPartial(endpoint: string, token: string, file: string, start: number, end: number, chunk = 8 * MiB) {
  const partial = await createPartial(endpoint, token, end - start);
  for (let at = start; at < end; ) {
    const stop = Math.min(end, at + chunk);
    const offset = await patchRange(partial.url, token, file, at, stop, at - start);
    if (offset !== stop - start) throw new Error(`PATCH answered offset ${offset}, expected ${stop - start}`);
    at = stop;
  }
  return partial;
}

/** POST /files with Upload-Concat: final;<urls>. Does not throw on error statuses. */
export async function postFinal(endpoint: string, token: string, urls: readonly string[] | string, headers: Record<string, string> = {}) {
  const value = typeof urls === 'string' ? urls : `final;${urls.join(' ')}`;
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { ...tusHeaders(token), 'Upload-Concat': value, ...headers },
  });
  const text = await response.text();
  const location = response.headers.get('location');
  return {
    status: response.status,
    headers: response.headers,
    body: text,
    json: () => JSON.parse(text) as { code: string; message: string },
    url: location ? new URL(location, endpoint).toString() : undefined,
  };
}

export async function head(url: string, token: string) {
  const response = await fetch(url, { method: 'HEAD', headers: tusHeaders(token) });
  return { status: response.status, headers: response.headers, offset: Number(response.headers.get('upload-offset')) };
}

export async function readRange(file: string, start: number, end: number): Promise<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.alloc(end - start);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** DATA_DIR/files/<user-key>/<upload-id> (storage/key-layout.ts). */
export const diskPath = (dataDir: string, user: string, uploadId: string) =>
  path.join(dataDir, 'files', userStorageKey(user), uploadId);

export const exists = (file: string) => fs.promises.access(file).then(() => true, () => false);

/** SHA-256 of a whole file or of bytes [start, end), streamed. */
export async function sha256OfRange(file: string, start?: number, end?: number): Promise<string> {
  const hash = createHash('sha256');
  if (end !== undefined && start !== undefined && end <= start) return hash.digest('hex');
  const stream = fs.createReadStream(file, { start, end: end === undefined ? undefined : end - 1 });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export const decodeMetadata = (header: string | null) =>
  Object.fromEntries(
    (header ?? '')
      .split(',')
      .filter(Boolean)
      .map((pair) => pair.trim().split(' '))
      .map(([key, value]) => [key!, Buffer.from(value ?? '', 'base64').toString()]),
  );

/** tus-js-client's URL storage, in memory: what a browser's localStorage would hold. */
export class MemoryUrlStorage implements tus.UrlStorage {
  private readonly entries = new Map<string, tus.PreviousUpload & { fingerprint: string }>();
  private counter = 0;

  async findAllUploads(): Promise<tus.PreviousUpload[]> {
    return [...this.entries.values()];
  }

  async findUploadsByFingerprint(fingerprint: string): Promise<tus.PreviousUpload[]> {
    return [...this.entries.values()].filter((entry) => entry.fingerprint === fingerprint);
  }

  async removeUpload(urlStorageKey: string): Promise<void> {
    this.entries.delete(urlStorageKey);
  }

  async addUpload(fingerprint: string, upload: tus.PreviousUpload): Promise<string> {
    const urlStorageKey = `tus::${fingerprint}::${++this.counter}`;
    // tus-js-client hands over its live array of partial URLs; store a copy, as localStorage would.
    this.entries.set(urlStorageKey, {
      ...upload,
      parallelUploadUrls: upload.parallelUploadUrls ? [...upload.parallelUploadUrls] : null,
      urlStorageKey,
      fingerprint,
    });
    return urlStorageKey;
  }
}

export type ParallelOptions = Omit<tus.UploadOptions, 'onSuccess' | 'onError'>;

/** A tus-js-client upload of `file` (a path, read as fs.ReadStream); resolves with the final URL. */
export function runUpload(upload: tus.Upload): Promise<string> {
  return new Promise((resolve, reject) => {
    upload.options.onSuccess = () => resolve(upload.url!);
    upload.options.onError = reject;
    upload.start();
  });
}

export function parallelUpload(file: string, options: ParallelOptions): Promise<string> {
  return runUpload(new tus.Upload(fs.createReadStream(file), { retryDelays: [], ...options }));
}

/**
 * Swift only (the local S3): the object keys that still own multipart segments under `prefix`.
 * Swift keeps the parts of S3 multipart uploads as objects in `<bucket>+segments`, named
 * `<key>/<upload-id>/<part>`, and an aborted upload's parts disappear from every S3 listing; a
 * part stored after its upload was aborted can only be seen here. Uses Swift's own API (tempauth
 * with the S3 credentials) on the same endpoint.
 */
export async function swiftSegmentOwners(env: { S3_ENDPOINT: string; S3_BUCKET: string; S3_ACCESS_KEY_ID: string; S3_SECRET_ACCESS_KEY: string }, prefix: string) {
  const auth = await fetch(new URL('/auth/v1.0', env.S3_ENDPOINT), {
    headers: { 'X-Auth-User': env.S3_ACCESS_KEY_ID, 'X-Auth-Key': env.S3_SECRET_ACCESS_KEY },
  });
  const token = auth.headers.get('x-auth-token');
  const storageUrl = auth.headers.get('x-storage-url');
  if (!auth.ok || !token || !storageUrl) throw new Error(`Swift auth: ${auth.status}`);
  const owners = new Set<string>();
  let marker = '';
  for (;;) {
    const url = `${storageUrl}/${encodeURIComponent(`${env.S3_BUCKET}+segments`)}?format=plain&prefix=${encodeURIComponent(prefix)}&marker=${encodeURIComponent(marker)}`;
    const response = await fetch(url, { headers: { 'X-Auth-Token': token } });
    if (response.status === 404) return owners;
    if (!response.ok) throw new Error(`Swift listing: ${response.status}`);
    const names = (await response.text()).split('\n').filter(Boolean);
    if (names.length === 0) return owners;
    for (const name of names) owners.add(name.split('/').slice(0, -2).join('/'));
    marker = names.at(-1)!;
  }
}
