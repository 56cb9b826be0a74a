import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { userStorageKey } from '../../server/src/auth/user.js';

/**
 * Raw tus 1.0 over node:http (no client library in between), for tests that check exactly what
 * goes over the wire. Every request uses its own connection (`agent: false`), so a test that
 * kills or restarts a server never trips over a pooled socket.
 */

export const TUS = { 'Tus-Resumable': '1.0.0' } as const;

export interface RawResponse {
  status: number;
  /** Lower-case header names. */
  headers: http.IncomingHttpHeaders;
  body: string;
  header(name: string): string | undefined;
  json<T = { code: string; message: string }>(): T;
}

export interface RequestOptions {
  method: string;
  /** Absolute URL, or a base URL when `path` is given. */
  url: string;
  /** Sent verbatim (no URL normalisation): for "../", percent-encoded slashes and the like. */
  path?: string;
  token?: string;
  headers?: Record<string, string | number | undefined>;
  body?: Buffer | string;
  timeoutMs?: number;
}

export function request(options: RequestOptions): Promise<RawResponse> {
  const url = new URL(options.url);
  const headers: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) if (value !== undefined) headers[name] = value;
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['Content-Length'] = Buffer.byteLength(options.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: options.path ?? `${url.pathname}${url.search}`,
        method: options.method,
        headers,
        agent: false,
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            header: (name) => {
              const value = res.headers[name.toLowerCase()];
              return Array.isArray(value) ? value.join(', ') : value;
            },
            json: () => JSON.parse(body),
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${options.method} ${options.url} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

// ---------------------------------------------------------------------------------------------
// Upload-Metadata

export type MetadataValue = string | Buffer | null;

/** `{ filename: 'a.txt', flag: null }` → `filename YS50eHQ=,flag` (values as UTF-8 or raw bytes). */
export function encodeMetadata(pairs: Record<string, MetadataValue>): string {
  return Object.entries(pairs)
    .map(([key, value]) => (value === null ? key : `${key} ${Buffer.from(value).toString('base64')}`))
    .join(',');
}

/** Upload-Metadata → key → bytes (null for a key without value). */
export function decodeMetadata(header: string | undefined): Map<string, Buffer | null> {
  const out = new Map<string, Buffer | null>();
  if (!header) return out;
  for (const pair of header.split(',')) {
    const [key, value] = pair.trim().split(' ');
    out.set(key!, value ? Buffer.from(value, 'base64') : null);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// tus operations

export interface Created {
  response: RawResponse;
  /** Absolute upload URL (Location). */
  url: string;
  /** Public upload id: the last path segment. */
  id: string;
}

export const uploadIdOf = (uploadUrl: string) => new URL(uploadUrl).pathname.split('/').pop()!;

/** POST /files: Upload-Length (or Upload-Defer-Length: 1), optional metadata and creation-with-upload body. */
export async function createUpload(
  tusEndpoint: string,
  token: string,
  options: { length?: number; defer?: boolean; metadata?: string; body?: Buffer; headers?: Record<string, string> } = {},
): Promise<Created> {
  const response = await request({
    method: 'POST',
    url: tusEndpoint,
    token,
    headers: {
      ...TUS,
      'Upload-Length': options.defer ? undefined : options.length,
      'Upload-Defer-Length': options.defer ? '1' : undefined,
      'Upload-Metadata': options.metadata,
      'Content-Type': options.body ? 'application/offset+octet-stream' : undefined,
      ...options.headers,
    },
    body: options.body,
  });
  if (response.status !== 201) throw new Error(`POST ${tusEndpoint}: ${response.status} ${response.body}`);
  const location = response.header('location');
  if (!location) throw new Error('201 without Location');
  const url = new URL(location, tusEndpoint).toString();
  return { response, url, id: uploadIdOf(url) };
}

export const head = (uploadUrl: string, token: string, headers: Record<string, string> = {}) =>
  request({ method: 'HEAD', url: uploadUrl, token, headers: { ...TUS, ...headers } });

/** The server's offset for an upload (HEAD must answer 200). */
export async function offsetOf(uploadUrl: string, token: string): Promise<number> {
  const res = await head(uploadUrl, token);
  if (res.status !== 200) throw new Error(`HEAD ${uploadUrl}: ${res.status} ${res.body}`);
  return Number(res.header('upload-offset'));
}

export const patch = (
  uploadUrl: string,
  token: string,
  offset: number,
  body: Buffer,
  headers: Record<string, string | undefined> = {},
) =>
  request({
    method: 'PATCH',
    url: uploadUrl,
    token,
    headers: { ...TUS, 'Upload-Offset': offset, 'Content-Type': 'application/offset+octet-stream', ...headers },
    body,
  });

export const terminate = (uploadUrl: string, token: string) =>
  request({ method: 'DELETE', url: uploadUrl, token, headers: TUS });

/** Bytes [start, end) of a file (keep ranges small: a few MiB). */
export async function readRange(file: string, start: number, end: number): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(end - start);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** PATCHes `file` from `offset` to its end in `chunkSize` pieces; every PATCH must answer 204. */
export async function uploadRest(uploadUrl: string, token: string, file: { path: string; size: number }, offset: number, chunkSize = 4 * 2 ** 20): Promise<void> {
  for (let at = offset; at < file.size; ) {
    const chunk = await readRange(file.path, at, Math.min(file.size, at + chunkSize));
    const res = await patch(uploadUrl, token, at, chunk);
    if (res.status !== 204) throw new Error(`PATCH at ${at}: ${res.status} ${res.body}`);
    const next = Number(res.header('upload-offset'));
    if (next !== at + chunk.length) throw new Error(`PATCH at ${at} answered Upload-Offset ${next}`);
    at = next;
  }
}

/**
 * Starts a PATCH that promises `declared` bytes (Content-Length) from `offset`, sends `send` of
 * them and leaves the request open. `abort()` tears the connection down mid-body, the way a
 * dropped network does; `done` settles when the request ends either way.
 */
export async function partialPatch(
  uploadUrl: string,
  token: string,
  file: string,
  { offset, send, declared }: { offset: number; send: number; declared: number },
) {
  const url = new URL(uploadUrl);
  const req = http.request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'PATCH',
    agent: false,
    headers: {
      ...TUS,
      Authorization: `Bearer ${token}`,
      'Upload-Offset': offset,
      'Content-Type': 'application/offset+octet-stream',
      'Content-Length': declared,
    },
  });
  const done = new Promise<{ status?: number; error?: Error }>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
      res.on('error', (error) => resolve({ status: res.statusCode, error }));
    });
    req.on('error', (error) => resolve({ error }));
    req.on('close', () => resolve({}));
  });
  req.flushHeaders();
  const piece = 256 * 1024;
  for (let at = offset; at < offset + send; at += piece) {
    const chunk = await readRange(file, at, Math.min(offset + send, at + piece));
    if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
  }
  return {
    done,
    abort: () => {
      req.destroy();
      return done;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Storage on disk

/** DATA_DIR/files/<user-key>/<upload-id> (README "Storage layout"). */
export const storedPath = (dataDir: string, user: string, uploadId: string) =>
  path.join(dataDir, 'files', userStorageKey(user), uploadId);

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await fs.open(file, 'r');
  try {
    for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

export async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Misc

export async function waitFor<T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A port free right now on 127.0.0.1 (to restart a server on the same URL). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
