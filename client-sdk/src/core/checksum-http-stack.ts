import { HEADERS } from '@haul/api';
import type { HttpRequest, HttpResponse, HttpStack } from 'tus-js-client';
import { HaulError } from './errors.js';

/**
 * tus checksum extension on the client side: every PATCH carries `Upload-Checksum: sha256
 * <base64>` of its body, so a byte flipped on the way (a broken proxy, a middlebox) is caught by
 * the server, which answers 460 and discards the chunk; the retry policy then sends the same
 * chunk again (retry-policy.ts). Wraps tus-js-client's platform stack, inside the guarded stack
 * (http-stack.ts), so the SDK's own uploads and Uppy's through `tusOptions()` both get it.
 *
 * The digest must be in the header, sent before the body, so the body is read once before it is
 * sent: a Blob or bytes as they are, a Node stream (a file slice) collected into bytes. Memory is
 * one chunk: with checksums on, the SDK's default chunk size is {@link CHECKSUM_CHUNK_SIZE}, and a
 * body over {@link CHECKSUM_MAX_BODY} fails the upload with a clear error instead.
 */

/** tus checksum extension: "460 Checksum Mismatch if the checksums mismatch" (the chunk was discarded). */
export const CHECKSUM_MISMATCH_STATUS = 460;

/** SHA-256 of some bytes: WebCrypto where present, node:crypto in Node (the platform's). */
export type Sha256 = (bytes: Uint8Array) => Promise<Uint8Array>;

/** Bytes per PATCH when checksums are on and no chunk size is given: the memory a digest needs. */
export const CHECKSUM_CHUNK_SIZE = 8 * 2 ** 20;

/** A larger body is refused rather than read into memory (a chunkSize chosen too large). */
export const CHECKSUM_MAX_BODY = 64 * 2 ** 20;

const tooLarge = () =>
  new HaulError('INVALID_INPUT', `A checksummed PATCH body is hashed in memory, and this one exceeds ${CHECKSUM_MAX_BODY / 2 ** 20} MiB: pass a smaller chunkSize (or checksum: false)`, { retryable: false });

/** WebCrypto's SHA-256 (browsers, React Native with a WebCrypto polyfill, Node ≥ 20), or null where there is none. */
export function webCryptoSha256(): Sha256 | null {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (!subtle || typeof subtle.digest !== 'function') return null;
  return async (bytes) => new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Base64 of a digest (short: no platform's btoa needed). */
export function base64Of(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const [a = 0, b = 0, c = 0] = [bytes[i], bytes[i + 1], bytes[i + 2]];
    const n = (a << 16) | (b << 8) | c;
    out += BASE64[(n >> 18) & 63]! + BASE64[(n >> 12) & 63]!;
    out += i + 1 < bytes.length ? BASE64[(n >> 6) & 63]! : '=';
    out += i + 2 < bytes.length ? BASE64[n & 63]! : '=';
  }
  return out;
}

/**
 * Digests already under way for a body: an encrypted upload seals a request's records into one
 * buffer and hashes it while the previous request is still being sent (encrypted-upload.ts), so
 * the PATCH need not read its body back (a Blob's bytes cross to the renderer again) and hash it
 * after its turn came.
 */
const knownDigests = new WeakMap<object, Promise<Uint8Array>>();

/** Marks `body` as having the SHA-256 `digest` (of exactly its bytes); returns `body`. */
export function withKnownDigest<Body extends object>(body: Body, digest: Promise<Uint8Array>): Body {
  digest.catch(() => {}); // a failure surfaces when the body is sent
  knownDigests.set(body, digest);
  return body;
}

type BlobLike = { arrayBuffer(): Promise<ArrayBuffer>; size: number };
const isBlobLike = (body: object): body is BlobLike =>
  typeof (body as Partial<BlobLike>).arrayBuffer === 'function' && typeof (body as Partial<BlobLike>).size === 'number';
const isAsyncIterable = (body: object): body is AsyncIterable<Uint8Array | string> =>
  typeof (body as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function';

/**
 * The body's bytes, and what to send: a Blob goes as it is (XHR sends it from the file), a stream
 * — which can be read only once — as the bytes read from it. Undefined: a body this stack does
 * not know, sent without a checksum.
 */
async function readBody(body: object): Promise<{ bytes: Uint8Array; send: unknown } | undefined> {
  if (body instanceof Uint8Array) return { bytes: body, send: body };
  if (isBlobLike(body)) {
    if (body.size > CHECKSUM_MAX_BODY) throw tooLarge();
    return { bytes: new Uint8Array(await body.arrayBuffer()), send: body };
  }
  if (isAsyncIterable(body)) {
    const chunks: Uint8Array[] = [];
    let length = 0;
    for await (const chunk of body) {
      const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
      chunks.push(bytes);
      length += bytes.length;
      if (length > CHECKSUM_MAX_BODY) throw tooLarge();
    }
    const bytes = new Uint8Array(length);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    // Node's http stack sends a Buffer (a Uint8Array) with progress, like the stream it replaces.
    return { bytes, send: bytes };
  }
  return undefined;
}

export class ChecksumHttpStack implements HttpStack {
  constructor(
    private readonly inner: HttpStack,
    private readonly sha256: Sha256,
  ) {}

  createRequest(method: string, url: string): HttpRequest {
    const request = this.inner.createRequest(method, url);
    return method === 'PATCH' ? new ChecksumRequest(request, this.sha256) : request;
  }

  getName(): string {
    return this.inner.getName();
  }
}

/** A PATCH that puts the digest of its body in Upload-Checksum before sending it. */
class ChecksumRequest implements HttpRequest {
  constructor(
    private readonly inner: HttpRequest,
    private readonly sha256: Sha256,
  ) {}

  getMethod = () => this.inner.getMethod();
  getURL = () => this.inner.getURL();
  setHeader = (header: string, value: string) => this.inner.setHeader(header, value);
  getHeader = (header: string) => this.inner.getHeader(header);
  setProgressHandler = (handler: (bytesSent: number) => void) => this.inner.setProgressHandler(handler);
  abort = () => this.inner.abort();
  getUnderlyingObject = (): unknown => this.inner.getUnderlyingObject();

  async send(body: unknown = null): Promise<HttpResponse> {
    if (body === null || typeof body !== 'object') return this.inner.send(body);
    const known = knownDigests.get(body);
    if (known) {
      this.inner.setHeader(HEADERS.uploadChecksum, `sha256 ${base64Of(await known)}`);
      return this.inner.send(body);
    }
    const read = await readBody(body);
    if (!read) return this.inner.send(body);
    // tus 1.0: "The header MUST consist of the name of the used checksum algorithm and the
    // Base64 encoded checksum separated by a space."
    this.inner.setHeader(HEADERS.uploadChecksum, `sha256 ${base64Of(await this.sha256(read.bytes))}`);
    return this.inner.send(read.send);
  }
}
