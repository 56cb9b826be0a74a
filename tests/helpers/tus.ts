import fs from 'node:fs';
import http from 'node:http';
import type { Readable } from 'node:stream';

/**
 * Raw tus 1.0 over node:http (no client library in between), for tests that check exactly what
 * goes over the wire: creation (with upload, deferred length, partial and final uploads), HEAD,
 * PATCH from a buffer or a file range, termination; PATCHes that do not end well are in
 * tus-interrupted.ts. Every request uses its own connection (`agent: false`), so a test that
 * kills or restarts a server never trips over a pooled socket. Nothing here throws on an HTTP
 * status unless its name promises a result (`createUpload`, `offsetOf`, `uploadRest`,
 * `uploadBuffer`): the others return the response.
 */

export const TUS = { 'Tus-Resumable': '1.0.0' } as const;

export type HeaderValues = Record<string, string | number | undefined>;

export interface RawResponse {
  status: number;
  body: string;
  /** A response header (any case), several values joined with ", ". */
  header(name: string): string | undefined;
  json<T = { code: string; message: string }>(): T;
  /** Upload-Offset and Upload-Length as numbers, where the response has them. */
  offset: number | undefined;
  length: number | undefined;
}

export interface RequestOptions {
  method: string;
  /** Absolute URL, or a base URL when `path` is given. */
  url: string;
  /** Sent verbatim (no URL normalisation): for "../", percent-encoded slashes and the like. */
  path?: string;
  token?: string;
  headers?: HeaderValues;
  /** A buffer or string goes with its Content-Length; a stream needs Content-Length in `headers`. */
  body?: Buffer | string | Readable;
  timeoutMs?: number;
}

const numberOf = (value: string | undefined) => (value === undefined ? undefined : Number(value));

export function request(options: RequestOptions): Promise<RawResponse> {
  const url = new URL(options.url);
  const headers: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) if (value !== undefined) headers[name] = value;
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const { body } = options;
  if (typeof body === 'string' || Buffer.isBuffer(body)) headers['Content-Length'] = Buffer.byteLength(body);
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
          const text = Buffer.concat(chunks).toString('utf8');
          const header = (name: string) => {
            const value = res.headers[name.toLowerCase()];
            return Array.isArray(value) ? value.join(', ') : value;
          };
          resolve({
            status: res.statusCode ?? 0,
            body: text,
            header,
            json: () => JSON.parse(text),
            offset: numberOf(header('upload-offset')),
            length: numberOf(header('upload-length')),
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${options.method} ${options.url} timed out`)));
    req.on('error', reject);
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else body.on('error', (error) => req.destroy(error)).pipe(req);
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

/** Upload-Metadata → key → value as UTF-8 text. */
export const decodeMetadataText = (header: string | undefined): Record<string, string | null> =>
  Object.fromEntries([...decodeMetadata(header)].map(([key, value]) => [key, value?.toString('utf8') ?? null]));

// ---------------------------------------------------------------------------------------------
// Creation

export interface Created {
  response: RawResponse;
  /** Absolute upload URL (Location). */
  url: string;
  /** Its path, e.g. /files/<id> (a relative URL, as Upload-Concat may list it). */
  path: string;
  /** Public upload id: the last path segment. */
  id: string;
}

export const uploadIdOf = (uploadUrl: string) => new URL(uploadUrl, 'http://x').pathname.split('/').pop()!;

export interface CreateOptions {
  /** Upload-Length, or Upload-Defer-Length: 1. */
  length: number | 'deferred';
  metadata?: Record<string, MetadataValue>;
  /** creation-with-upload: bytes sent with the POST. */
  body?: Buffer;
  headers?: HeaderValues;
}

/** POST to the tus endpoint; anything but 201 with a Location throws. */
export async function createUpload(endpoint: string, token: string, { length, metadata, body, headers }: CreateOptions): Promise<Created> {
  const response = await request({
    method: 'POST',
    url: endpoint,
    token,
    headers: {
      ...TUS,
      'Upload-Length': length === 'deferred' ? undefined : length,
      'Upload-Defer-Length': length === 'deferred' ? '1' : undefined,
      'Upload-Metadata': metadata && Object.keys(metadata).length > 0 ? encodeMetadata(metadata) : undefined,
      'Content-Type': body ? 'application/offset+octet-stream' : undefined,
      ...headers,
    },
    body,
  });
  if (response.status !== 201) throw new Error(`POST ${endpoint}: ${response.status} ${response.body}`);
  const location = response.header('location');
  if (!location) throw new Error('201 without Location');
  const url = new URL(location, endpoint).toString();
  return { response, url, path: new URL(url).pathname, id: uploadIdOf(url) };
}

/** Concatenation: a partial upload (Upload-Concat: partial). */
export const createPartial = (endpoint: string, token: string, length: number | 'deferred', headers: HeaderValues = {}) =>
  createUpload(endpoint, token, { length, headers: { 'Upload-Concat': 'partial', ...headers } });

/** Concatenation: POST Upload-Concat: final;<partials> (or the header value as given). `url` is the final upload's, if created. */
export async function postFinal(endpoint: string, token: string, partials: readonly string[] | string, headers: HeaderValues = {}) {
  const concat = typeof partials === 'string' ? partials : `final;${partials.join(' ')}`;
  const response = await request({ method: 'POST', url: endpoint, token, headers: { ...TUS, 'Upload-Concat': concat, ...headers } });
  const location = response.header('location');
  return { ...response, url: location ? new URL(location, endpoint).toString() : undefined };
}

// ---------------------------------------------------------------------------------------------
// HEAD, PATCH, DELETE

export const head = (uploadUrl: string, token: string, headers: HeaderValues = {}) =>
  request({ method: 'HEAD', url: uploadUrl, token, headers: { ...TUS, ...headers } });

/** The server's offset for an upload (HEAD must answer 200). */
export async function offsetOf(uploadUrl: string, token: string): Promise<number> {
  const res = await head(uploadUrl, token);
  if (res.status !== 200 || res.offset === undefined) throw new Error(`HEAD ${uploadUrl}: ${res.status} ${res.body}`);
  return res.offset;
}

/** The headers of a tus PATCH at `offset`, plus `headers`. */
export const patchHeaders = (offset: number, headers: HeaderValues): HeaderValues => ({
  ...TUS,
  'Upload-Offset': offset,
  'Content-Type': 'application/offset+octet-stream',
  ...headers,
});

export const patch = (uploadUrl: string, token: string, offset: number, body: Buffer, headers: HeaderValues = {}) =>
  request({ method: 'PATCH', url: uploadUrl, token, headers: patchHeaders(offset, headers), body });

/** One PATCH streaming bytes [start, end) of `file`, sent as Upload-Offset `offset` (default: `start`). */
export function patchFile(
  uploadUrl: string,
  token: string,
  file: string,
  { start, end, offset = start, headers = {} }: { start: number; end: number; offset?: number; headers?: HeaderValues },
): Promise<RawResponse> {
  const body = end > start ? fs.createReadStream(file, { start, end: end - 1, highWaterMark: 256 * 1024 }) : Buffer.alloc(0);
  return request({
    method: 'PATCH', url: uploadUrl, token, body, timeoutMs: 120_000, headers: { ...patchHeaders(offset, headers), 'Content-Length': end - start },
  });
}

export const terminate = (uploadUrl: string, token: string) =>
  request({ method: 'DELETE', url: uploadUrl, token, headers: TUS });

// ---------------------------------------------------------------------------------------------
// Whole uploads

/** What an upload is made of: bytes [start, start + size) of the file at `path` (start 0 by default). */
export interface UploadSource {
  path: string;
  size: number;
  start?: number;
}

/**
 * PATCHes the source from upload offset `from` (default: where HEAD says the server is) to its
 * end, `chunkSize` bytes a request; every PATCH must answer 204 with the offset it reached.
 * Returns the final offset.
 */
export async function uploadRest(
  uploadUrl: string,
  token: string,
  source: UploadSource,
  { from, chunkSize = 4 * 2 ** 20 }: { from?: number; chunkSize?: number } = {},
): Promise<number> {
  const base = source.start ?? 0;
  let at = from ?? (await offsetOf(uploadUrl, token));
  while (at < source.size) {
    const next = Math.min(source.size, at + chunkSize);
    const res = await patchFile(uploadUrl, token, source.path, { start: base + at, end: base + next, offset: at });
    if (res.status !== 204) throw new Error(`PATCH at ${at}: ${res.status} ${res.body}`);
    if (res.offset !== next) throw new Error(`PATCH at ${at} answered Upload-Offset ${res.offset}`);
    at = next;
  }
  return at;
}

/** Concatenation: a finished partial upload holding bytes [start, end) of `file`, sent in PATCHes of `chunkSize`. */
export async function uploadPartial(endpoint: string, token: string, file: string, start: number, end: number, chunkSize = 8 * 2 ** 20) {
  const partial = await createPartial(endpoint, token, end - start);
  await uploadRest(partial.url, token, { path: file, start, size: end - start }, { from: 0, chunkSize });
  return partial;
}

/** Creates an upload with `metadata` and sends all of `data` in one PATCH (which must answer 204). */
export async function uploadBuffer(endpoint: string, token: string, data: Buffer, metadata: Record<string, MetadataValue> = {}) {
  const { url, id } = await createUpload(endpoint, token, { length: data.length, metadata });
  const response = await patch(url, token, 0, data);
  if (response.status !== 204) throw new Error(`PATCH ${url}: ${response.status} ${response.body}`);
  return { id, url, response, /** When the final PATCH answered (ms since epoch). */ finishedAt: Date.now() };
}
