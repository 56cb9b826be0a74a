import { pipeline, Readable, Transform } from 'node:stream';
import type { Context } from 'hono';
import { HaulError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import type { UploadRecord } from '../uploads/upload-repository.js';

/** Only these render inline; everything else is a download. Never HTML or SVG. */
const INLINE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/avif', 'image/bmp', 'application/pdf']);
const PRESIGNED_URL_SECONDS = 300;

/**
 * A PDF with active content (JavaScript, launch actions, embedded files: issue 13) is never shown
 * inline; nor is one never inspected for it (processed before the check existed): fail closed.
 */
const mayRunCode = (upload: Pick<UploadRecord, 'detectedType' | 'activeContent'>) =>
  upload.detectedType === 'application/pdf' && upload.activeContent !== false;

/**
 * RFC 6266 Content-Disposition: an ASCII fallback `filename` and the exact (sanitised) name as
 * RFC 8187 `filename*`, so no client has to guess an encoding and no quote or CR/LF gets through.
 */
export function contentDisposition(upload: Pick<UploadRecord, 'filename' | 'id' | 'detectedType' | 'activeContent'>, { attachment = false } = {}): string {
  const type = !attachment && INLINE_TYPES.has(upload.detectedType ?? '') && !mayRunCode(upload) ? 'inline' : 'attachment';
  const name = upload.filename ?? upload.id;
  const ascii = name.normalize('NFKD').replace(/[^\x20-\x7e]/g, '').replace(/["\\%;]/g, '_').trim() || 'download';
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${type}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * The stored bytes, failing if storage has more or fewer than the `Content-Length` promised (a
 * file cut short on disk, an object replaced): the response is then aborted — the connection cut —
 * instead of ending early on a connection the client keeps waiting on for the missing bytes.
 */
function exactly(expected: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      callback(seen > expected ? new Error(`storage has more than the ${expected} bytes promised`) : null, chunk);
    },
    flush(callback) {
      callback(seen < expected ? new Error(`storage ended after ${seen} of the ${expected} bytes promised`) : null);
    },
  });
}

/**
 * A stored object (or a range of it) as a response body of exactly `length` bytes. pipeline: a
 * storage error, or the client gone, ends both streams (the error reaches the response).
 */
export async function storedBody(storage: Pick<Storage, 'read'>, key: string, length: number, range?: { start: number; end: number }): Promise<ReadableStream> {
  return Readable.toWeb(pipeline(await storage.read(key, range), exactly(length), () => {})) as ReadableStream;
}

/** One `bytes=` range of a `size`-byte file: undefined to send it whole, or 416. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges, other units, or nonsense: RFC 9110 lets a server ignore Range and send all.
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) throw rangeError(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (Number(match[2] || start) < start) throw rangeError(size);
  }
  if (start >= size) throw rangeError(size);
  return { start, end };
}

const rangeError = (size: number) =>
  new HaulError('RANGE_NOT_SATISFIABLE', undefined, { headers: { 'Content-Range': `bytes */${size}` } });

/** Headers on every file response: the detected type only, sandboxed, never sniffed. */
export function fileHeaders(upload: UploadRecord, { attachment = false } = {}): Record<string, string> {
  return {
    'Content-Type': upload.detectedType ?? 'application/octet-stream',
    'Content-Disposition': contentDisposition(upload, { attachment }),
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; sandbox",
    'Cross-Origin-Resource-Policy': 'same-site',
    'Referrer-Policy': 'no-referrer',
  };
}

/** Only finished, clean, processed files are ever served. */
export function assertDownloadable(upload: UploadRecord): void {
  if (upload.status === 'ready') return;
  if (['rejected', 'infected', 'failed', 'expired', 'terminated', 'concatenated'].includes(upload.status)) {
    throw new HaulError('UPLOAD_NOT_DOWNLOADABLE', `This upload is ${upload.status} and cannot be downloaded`);
  }
  throw new HaulError('UPLOAD_NOT_READY', `This upload is ${upload.status}; wait until it is ready`);
}

/**
 * The file: on S3 a redirect to a short-lived presigned URL (bytes go straight from S3); on disk
 * a stream with Range/206, ETag (the SHA-256) and Last-Modified with their conditional requests.
 * `?download` (any value) asks for `attachment` even for images and PDFs: a save, not a view —
 * the only way after a redirect to another origin, where `<a download>` is ignored.
 */
export async function serveFile(c: Context, upload: UploadRecord, storage: Storage): Promise<Response> {
  assertDownloadable(upload);
  const headers = fileHeaders(upload, { attachment: c.req.query('download') !== undefined });
  if (storage.presignDownload) {
    // A deduplicated file's bytes are its content's (contentKey); its name and type stay its own.
    const url = await storage.presignDownload(upload.contentKey ?? upload.storageKey, {
      contentType: headers['Content-Type']!,
      contentDisposition: headers['Content-Disposition']!,
      expiresInSeconds: PRESIGNED_URL_SECONDS,
    });
    return c.body(null, 302, { Location: url, 'Cache-Control': 'private, no-store', 'Referrer-Policy': 'no-referrer' });
  }
  const size = upload.size ?? 0;
  const etag = `"${upload.sha256 ?? upload.id}"`;
  const lastModified = (upload.finishedAt ?? upload.createdAt).toUTCString();
  const validators = { ETag: etag, 'Last-Modified': lastModified, 'Cache-Control': 'private, no-cache', 'Accept-Ranges': 'bytes' };
  const ifNoneMatch = c.req.header('if-none-match');
  const ifModifiedSince = c.req.header('if-modified-since');
  if (
    (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag || tag.trim() === '*')) ||
    (ifNoneMatch === undefined && ifModifiedSince !== undefined && Date.parse(ifModifiedSince) >= Date.parse(lastModified))
  ) {
    return c.body(null, 304, validators);
  }
  // If-Range: a range only applies to the version the client has.
  const ifRange = c.req.header('if-range');
  const range = ifRange === undefined || ifRange === etag ? parseRange(c.req.header('range'), size) : undefined;
  if (c.req.method === 'HEAD') {
    return c.body(null, 200, { ...headers, ...validators, 'Content-Length': String(size) });
  }
  const length = range ? range.end - range.start + 1 : size;
  const stream = await storedBody(storage, upload.contentKey ?? upload.storageKey, length, range);
  if (range) {
    return c.body(stream, 206, {
      ...headers, ...validators,
      'Content-Range': `bytes ${range.start}-${range.end}/${size}`,
      'Content-Length': String(length),
    });
  }
  return c.body(stream, 200, { ...headers, ...validators, 'Content-Length': String(size) });
}
