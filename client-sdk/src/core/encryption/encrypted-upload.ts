import type { FileReader, FileSource } from 'tus-js-client';
import { type Sha256, withKnownDigest } from '../checksum-http-stack.js';
import { HaulError } from '../errors.js';
import { MIN_PART_SIZE, type PartBoundary } from '../parallel.js';
import type { Platform, PlainPreview, PreparedInput } from '../platform.js';
import type { StoredUpload } from '../resume-storage.js';
import { reserveFingerprint, storageKeyOf, type UploadPlan, uploadMetadata } from '../upload-plan.js';
import type { UploadContext, UploadOptions } from '../upload-types.js';
import { randomBytes } from './cipher.js';
import {
  ENCRYPTION_METADATA_KEY,
  encodeHeader,
  type EncryptionHeader,
  FORMAT_VERSION,
  fromBase64url,
  NONCE_PREFIX_SIZE,
  parseHeader,
  previewPrefix,
  RECORD_SIZE,
  SEALED_RECORD_SIZE,
  toBase64url,
} from './format.js';
import { type FileKey, newFileKey, openFileKey } from './keys.js';
import { type SealedObject, sealAll, sealedObject, sealRange, sealRangeJoined, sealRangeParts } from './records.js';

/**
 * Plans an end-to-end encrypted upload: tus-js-client uploads the sealed object (its size known
 * up front), reading it through {@link sealedFileReader}, which seals exactly the records each
 * request needs — memory stays at about two chunks whatever the file's size.
 *
 * Resuming: the stored entry of the earlier run holds the upload's metadata, so its header (the
 * wrapped key and nonce prefix) comes back with it; the key is unwrapped with the application's
 * key and the records from the server's offset on are sealed again, byte for byte what they were.
 * A changed file has another fingerprint, hence a fresh key and prefix: old nonces never meet new
 * data. The preview is not made again on a resume, so an upload that stopped inside the preview
 * stream starts over.
 */

/**
 * Default bytes per PATCH of an encrypted upload where bodies must be whole (browsers): 256
 * sealed records (≈ 16 MiB: fewer requests, and memory still bounded at about twice that). Where
 * the platform streams bodies (Node), one request, sealed as it is sent — unless PATCHes are
 * checksummed (the default), which reads each body whole: then chunks of this size too.
 */
export const ENCRYPTED_CHUNK_SIZE = 256 * SEALED_RECORD_SIZE;
/** Records sealed at a time (in parallel) into a streamed body (≈ 2 MiB). */
const STREAM_PIECE = 32 * SEALED_RECORD_SIZE;

/** What tus-js-client gets as its "file": a range of the sealed object. */
export class SealedInput {
  /** Set once planned: slices of a parallel upload's whole object are its parts, opened again per partial. */
  asParts = false;
  constructor(
    readonly object: SealedObject,
    readonly start: number,
    readonly end: number,
    readonly bodies: Bodies = {},
  ) {}
}

/** How the platform wants request bodies (see Platform), and the PATCH checksum's digest (null: checksums off). */
type Bodies = Pick<Platform<unknown>, 'streamBody' | 'wholeBody' | 'cryptoEngine'> & { sha256?: Sha256 | null };

/** Sealed bytes [start, end), a piece at a time, each sealed only when the body wants it. */
async function* sealedPieces(object: SealedObject, start: number, end: number): AsyncGenerator<Uint8Array> {
  const records = STREAM_PIECE / SEALED_RECORD_SIZE;
  for (let at = start; at < end; ) {
    // The preview stream in one piece; then pieces that end on record boundaries, so no record is sealed twice.
    const to = at < object.previewSize
      ? Math.min(end, object.previewSize)
      : Math.min(end, object.previewSize + (Math.floor((at - object.previewSize) / SEALED_RECORD_SIZE) + records) * SEALED_RECORD_SIZE);
    // Each record as it is: no copy into one buffer.
    yield* await sealRangeParts(object, at, to);
    at = to;
  }
}

/** tus-js-client's bodies need a `size` (Content-Length, and its end-of-source check). */
const asBody = (bytes: Uint8Array): Uint8Array & { size: number } => Object.assign(bytes, { size: bytes.length });

class SealedSource implements FileSource {
  readonly size: number;
  /**
   * The next request's body, sealed (and hashed, with checksums on) while this one is sent (whole
   * bodies only): sealing and sending overlap, at the cost of one more chunk in memory. Used only
   * if the next slice is exactly that range (after an error, tus-js-client asks from the server's
   * offset instead).
   */
  private prefetched: { from: number; until: number; body: Promise<unknown> } | undefined;
  constructor(private readonly input: SealedInput) {
    this.size = input.end - input.start;
  }

  private wholeBody(from: number, until: number): Promise<unknown> {
    const { end } = this.input;
    const ahead = this.prefetched;
    this.prefetched = undefined;
    const body = ahead && ahead.from === from && ahead.until === until ? ahead.body : this.sealBody(from, until);
    if (until < end) {
      const next = Math.min(end, until + (until - from));
      this.prefetched = { from: until, until: next, body: this.sealBody(until, next) };
      this.prefetched.body.catch(() => {}); // a failure surfaces when (if) that range is asked for
    }
    return body;
  }

  /**
   * One request's body: its records sealed into one buffer as the plaintext arrives
   * (sealRangeJoined). With checksums on, that buffer is hashed right away, so the PATCH does not
   * read its body back. One buffer also makes the faster Blob in Chromium (than one of 256 records).
   */
  private async sealBody(from: number, until: number): Promise<unknown> {
    const { object, bodies } = this.input;
    const joined = await sealRangeJoined(object, from, until);
    const body = bodies.wholeBody!([joined]);
    return bodies.sha256 ? withKnownDigest(body as object, bodies.sha256(joined)) : body;
  }

  async slice(start: number, end: number) {
    const to = Math.min(end, this.size);
    const done = to >= this.size;
    const { object } = this.input;
    const from = this.input.start + start;
    const until = this.input.start + to;
    const { bodies } = this.input;
    if (this.input.asParts) return { value: new SealedInput(object, from, until, bodies), done };
    if (bodies.streamBody) return { value: bodies.streamBody(sealedPieces(object, from, until), until - from), done };
    if (bodies.wholeBody) return { value: await this.wholeBody(from, until), done };
    return { value: asBody(await sealRange(object, from, until)), done };
  }

  close(): void {
    this.prefetched = undefined;
  }
}

export const sealedFileReader: FileReader = {
  async openFile(input: unknown) {
    if (!(input instanceof SealedInput)) throw new HaulError('INVALID_INPUT', 'an encrypted upload reads only its sealed object', { retryable: false });
    return new SealedSource(input);
  },
};

/**
 * Parts of a parallel encrypted upload: cut between sealed records (the first part also carries
 * the preview stream), each but the last at least MIN_PART_SIZE.
 */
export function recordAlignedParts(object: Pick<SealedObject, 'size' | 'previewSize'>, requested: number): PartBoundary[] {
  const records = Math.ceil((object.size - object.previewSize) / SEALED_RECORD_SIZE);
  const minRecords = Math.ceil(MIN_PART_SIZE / SEALED_RECORD_SIZE);
  const count = Math.max(1, Math.min(Math.floor(requested), Math.floor(records / minRecords)));
  if (count <= 1) return [{ start: 0, end: object.size }];
  const perPart = Math.floor(records / count);
  const cut = (i: number) => object.previewSize + i * perPart * SEALED_RECORD_SIZE;
  return Array.from({ length: count }, (_, i) => ({ start: i === 0 ? 0 : cut(i), end: i === count - 1 ? object.size : cut(i + 1) }));
}

/** The earlier run's header, if it can be continued: same application key, and past the preview stream. */
async function resumableHeader(ctx: UploadContext, previous: StoredUpload | undefined, options: UploadOptions, engine: Bodies['cryptoEngine']): Promise<{ header: EncryptionHeader; fileKey: FileKey } | null> {
  const value = previous?.metadata[ENCRYPTION_METADATA_KEY];
  if (!previous || !value || !options.encryption) return null;
  try {
    const header = parseHeader(value);
    const fileKey = await openFileKey(options.encryption.key, header, engine);
    if (header.preview > 0 && !previous.finalUrl) {
      const first = previous.parallelUploadUrls?.[0] ?? previous.uploadUrl;
      const offset = first ? await ctx.tus.offset(first) : null;
      if (offset === null || offset < header.preview) return null;
    }
    return { header, fileKey };
  } catch {
    return null; // another key, or a damaged entry: a new upload
  }
}

export async function planEncryptedUpload(
  ctx: UploadContext,
  prepared: PreparedInput,
  options: UploadOptions,
  makePreview: () => Promise<PlainPreview | null>,
  bodies: Bodies = {},
): Promise<UploadPlan> {
  const encryption = options.encryption!;
  const read = prepared.readRange;
  if (!read || prepared.size === null) {
    throw new HaulError('INVALID_INPUT', 'end-to-end encryption needs an input of known size that can be read twice (a file, Blob or bytes; not a stream)', { retryable: false });
  }
  const metadata = uploadMetadata(prepared, options);
  if (ENCRYPTION_METADATA_KEY in metadata) throw new HaulError('INVALID_INPUT', `metadata "${ENCRYPTION_METADATA_KEY}" is the SDK's own with encryption`, { retryable: false });
  const parallel = Math.max(1, Math.floor(options.parallel ?? 1));
  // The header is random per upload: the fingerprint knows only that the upload is encrypted.
  const fingerprint = reserveFingerprint(ctx, prepared, options, parallel, { ...metadata, [ENCRYPTION_METADATA_KEY]: `v${FORMAT_VERSION}` });
  let previous = fingerprint && ctx.index ? await ctx.index.find(fingerprint) : undefined;

  let resumed = await resumableHeader(ctx, previous, options, bodies.cryptoEngine);
  let sealedPreview: Uint8Array | null = null;
  if (!resumed) {
    previous = undefined;
    const fileKey = await newFileKey(encryption.key, bodies.cryptoEngine);
    const prefix = await randomBytes(NONCE_PREFIX_SIZE);
    const preview = encryption.preview === false ? null : await makePreview();
    if (preview) sealedPreview = await sealAll(fileKey.aes.cipher(previewPrefix(prefix)), preview.bytes);
    const header: EncryptionHeader = {
      v: FORMAT_VERSION,
      alg: 'AES-256-GCM',
      record: RECORD_SIZE,
      nonce: toBase64url(prefix),
      key: fileKey.wrapped,
      wrap: fileKey.wrap,
      preview: sealedPreview?.length ?? 0,
      ...(preview ? { previewType: preview.type } : {}),
    };
    resumed = { header, fileKey };
  }
  const { header, fileKey } = resumed;
  const object = sealedObject({
    previewSize: header.preview,
    sealedPreview,
    fileSize: prepared.size,
    fileCipher: fileKey.aes.cipher(fromBase64url(header.nonce)),
    read,
  });
  const { streamBody, wholeBody, cryptoEngine } = bodies;
  const source = new SealedInput(object, 0, object.size, { streamBody, wholeBody, cryptoEngine, sha256: ctx.sha256 });
  let parts: PartBoundary[] = [{ start: 0, end: object.size }];
  if (parallel > 1) {
    const split = recordAlignedParts(object, parallel);
    if (split.length > 1 && (await ctx.tus.supportsConcatenation())) parts = split;
  }
  source.asParts = parts.length > 1;
  return {
    prepared: { ...prepared, source, size: object.size, sliceable: true, readRange: undefined, needsChunkSize: false },
    fileReader: sealedFileReader,
    metadata: { ...metadata, [ENCRYPTION_METADATA_KEY]: encodeHeader(header) },
    partialMetadata: { [ENCRYPTION_METADATA_KEY]: encodeHeader(header) },
    parts,
    fingerprint,
    storageKey: storageKeyOf(fingerprint),
    previous,
    // A checksummed PATCH body is read whole to be hashed (checksum-http-stack.ts): with checksums
    // on, a streamed body too goes in chunks.
    chunkSize: options.chunkSize ?? (bodies.streamBody && !ctx.sha256 ? Number.POSITIVE_INFINITY : ENCRYPTED_CHUNK_SIZE),
    uploadLengthDeferred: false,
  };
}
