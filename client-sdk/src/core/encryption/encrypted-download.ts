import type { UploadJson } from '@haul/api';
import { errorFromResponse, HaulError } from '../errors.js';
import { coveringRecords, fromBase64url, parsePreviewLayout, parseHeader, plaintextSizeOf, previewPrefix, type StreamLayout } from './format.js';
import type { CryptoEngine } from './cipher.js';
import { type EncryptionOptions, openFileKey } from './keys.js';
import { openRecords } from './records.js';

/**
 * Downloads of end-to-end encrypted uploads: the header comes with the upload's record, the
 * stored bytes of the records covering the wanted range with one ranged GET, and each record is
 * verified before its plaintext is passed on (records.ts). A web ReadableStream in every runtime
 * (Node: `Readable.fromWeb(stream)`).
 */

/**
 * Options of {@link HaulClient.download}.
 *
 * @example
 * ```ts
 * const stream = await client.download(id, { encryption: { key }, range: { start: 0, end: 1024 } } satisfies DownloadOptions);
 * ```
 */
export interface DownloadOptions {
  encryption: Pick<EncryptionOptions, 'key'>;
  /** Plaintext bytes [start, end) only (end exclusive; default: the whole file). */
  range?: { start: number; end?: number };
  signal?: AbortSignal;
}

export interface DownloadDeps {
  /** The platform's choice of AES-GCM implementation for records. */
  engine?: CryptoEngine;
  get(id: string, signal?: AbortSignal): Promise<UploadJson>;
  authorizedFetch(url: string, init?: RequestInit): Promise<Response>;
}

/** The sealed bytes [from, to) of the stored object, as a stream. */
async function fetchStored(deps: DownloadDeps, upload: UploadJson, from: number, to: number, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  if (!upload.contentUrl) throw new HaulError('UPLOAD_NOT_READY', `upload ${upload.id} is ${upload.status}, not ready`, { retryable: upload.status === 'received' || upload.status === 'processing' });
  const response = await deps.authorizedFetch(upload.contentUrl, { headers: { Range: `bytes=${from}-${to - 1}` }, signal });
  if (response.status !== 206 && response.status !== 200) {
    throw errorFromResponse(response.status, await response.text().catch(() => ''), response.headers.get('retry-after'));
  }
  if (!response.body) throw new HaulError('INVALID_RESPONSE', 'the download has no body', { retryable: true });
  if (response.status === 206) return response.body;
  // The whole object (a server or proxy that ignores Range): skip to `from`.
  return skipBytes(response.body, from);
}

function skipBytes(body: ReadableStream<Uint8Array>, count: number): ReadableStream<Uint8Array> {
  let skip = count;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (skip >= chunk.length) {
          skip -= chunk.length;
          return;
        }
        controller.enqueue(skip > 0 ? chunk.subarray(skip) : chunk);
        skip = 0;
      },
    }),
  );
}

/** The plaintext of an encrypted upload (or a range of it), verified record by record. */
export async function downloadDecrypted(deps: DownloadDeps, id: string, options: DownloadOptions): Promise<ReadableStream<Uint8Array>> {
  const upload = await deps.get(id, options.signal);
  const header = parseHeader(upload.encryption);
  const fileKey = await openFileKey(options.encryption.key, header, deps.engine);
  if (upload.size === null) throw new HaulError('UPLOAD_NOT_READY', `upload ${id} has no size yet`, { retryable: true });
  const layout: StreamLayout = { start: header.preview, plaintextSize: plaintextSizeOf(upload.size - header.preview) };
  const start = Math.max(0, Math.floor(options.range?.start ?? 0));
  const end = Math.min(layout.plaintextSize, Math.floor(options.range?.end ?? layout.plaintextSize));
  if (start > end || (start === end && start !== 0 && start >= layout.plaintextSize)) {
    throw new HaulError('RANGE_NOT_SATISFIABLE', `range ${start}-${end} is outside the ${layout.plaintextSize}-byte file`, { retryable: false });
  }
  const covering = coveringRecords(layout, start, end);
  const sealed = await fetchStored(deps, upload, covering.from, covering.to, options.signal);
  return openRecords(fileKey.aes.cipher(fromBase64url(header.nonce)), layout, start, end, sealed);
}

/** The client-made preview of an encrypted upload, decrypted; null if it has none. */
export async function previewDecrypted(deps: DownloadDeps, id: string, options: Omit<DownloadOptions, 'range'>): Promise<Blob | null> {
  const upload = await deps.get(id, options.signal);
  const header = parseHeader(upload.encryption);
  if (header.preview === 0) return null;
  const fileKey = await openFileKey(options.encryption.key, header, deps.engine);
  const layout = parsePreviewLayout(header);
  const sealed = await fetchStored(deps, upload, 0, header.preview, options.signal);
  const stream = openRecords(fileKey.aes.cipher(previewPrefix(fromBase64url(header.nonce))), layout, 0, layout.plaintextSize, sealed);
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  const reader = stream.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) chunks.push(new Uint8Array(read.value));
  return new Blob(chunks, { type: header.previewType ?? 'application/octet-stream' });
}
