import { z } from 'zod';
import { HaulError } from '../errors.js';

/**
 * Haul's end-to-end encryption format, version 1 (written down in client-sdk/README.md,
 * "End-to-end encryption"). The object the server stores is
 *
 *   [ preview stream ][ file stream ]
 *
 * Each stream is the file (or its preview) cut into records of RECORD_SIZE plaintext bytes,
 * each sealed with AES-256-GCM under the per-file key, with the STREAM construction's nonce
 * (Hoang, Reyhanitabar, Rogaway, Vizár 2015): 7-byte prefix ‖ 4-byte big-endian record index ‖
 * 1-byte last-record flag. The index stops reordering and dropping, the flag truncation and
 * extension; the per-file key and random prefix stop splicing between files. A stream always has
 * at least one record (an empty file is one empty last record), so every stream ends with a flag.
 * The preview stream's prefix is the file stream's with its top bit flipped: two streams under one
 * key never share a nonce.
 */

export const FORMAT_VERSION = 1;
/**
 * Plaintext bytes per record.
 *
 * @example
 * ```ts
 * import { RECORD_SIZE } from '@haul/client';
 * const records = Math.ceil(file.size / RECORD_SIZE);
 * ```
 */
export const RECORD_SIZE = 64 * 1024;
export const TAG_SIZE = 16;
/**
 * Stored bytes of a full record (plaintext + 16-byte GCM tag).
 *
 * @example
 * ```ts
 * import { SEALED_RECORD_SIZE } from '@haul/client';
 * const recordOfOffset = Math.floor(serverOffset / SEALED_RECORD_SIZE);
 * ```
 */
export const SEALED_RECORD_SIZE = RECORD_SIZE + TAG_SIZE;
export const NONCE_PREFIX_SIZE = 7;
export const FILE_KEY_SIZE = 32;
/**
 * The upload metadata key that carries the header (the server marks such uploads `encrypted`).
 *
 * @example
 * ```ts
 * import { ENCRYPTION_METADATA_KEY } from '@haul/client';
 * const header = JSON.parse(upload.encryption ?? '{}'); // the same value the metadata carried
 * console.log(ENCRYPTION_METADATA_KEY); // 'encryption'
 * ```
 */
export const ENCRYPTION_METADATA_KEY = 'encryption';

/** Records of a `plaintextSize`-byte stream (at least one: the last record carries the flag). */
export const recordCount = (plaintextSize: number): number => Math.max(1, Math.ceil(plaintextSize / RECORD_SIZE));

/**
 * Stored bytes of a `plaintextSize`-byte stream: known before a byte is sealed (`Upload-Length`).
 *
 * @example
 * ```ts
 * import { sealedSize } from '@haul/client';
 * sealedSize(0); // 16: one empty, flagged last record
 * ```
 */
export const sealedSize = (plaintextSize: number): number => plaintextSize + TAG_SIZE * recordCount(plaintextSize);

/** The plaintext size behind `sealed` stored bytes; throws if no plaintext size gives that many. */
export function plaintextSizeOf(sealed: number): number {
  const records = Math.ceil(sealed / SEALED_RECORD_SIZE);
  const lastRecord = sealed - (records - 1) * SEALED_RECORD_SIZE;
  if (sealed < TAG_SIZE || lastRecord < TAG_SIZE) {
    throw new HaulError('DECRYPTION_FAILED', `an encrypted stream of ${sealed} bytes is truncated (its last record has no room for a tag)`, { retryable: false });
  }
  return sealed - TAG_SIZE * records;
}

/** The 12-byte nonce of record `index` (STREAM: prefix ‖ index ‖ last flag). */
export function recordNonce(prefix: Uint8Array, index: number, last: boolean): Uint8Array<ArrayBuffer> {
  if (index < 0 || index > 0xffffffff) throw new HaulError('INVALID_INPUT', `record index ${index} out of range`, { retryable: false });
  const nonce = new Uint8Array(12);
  nonce.set(prefix.subarray(0, NONCE_PREFIX_SIZE), 0);
  new DataView(nonce.buffer).setUint32(NONCE_PREFIX_SIZE, index, false);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** The preview stream's prefix: the file's with its top bit flipped (never equal to it). */
export function previewPrefix(filePrefix: Uint8Array): Uint8Array {
  const prefix = filePrefix.slice(0, NONCE_PREFIX_SIZE);
  prefix[0] = prefix[0]! ^ 0x80;
  return prefix;
}

const base64url = z.string().regex(/^[A-Za-z0-9_-]*$/);

/** The header, JSON in the `encryption` metadata value: everything a reader with the key needs. */
export const encryptionHeaderSchema = z.object({
  /** Format version. */
  v: z.literal(FORMAT_VERSION),
  alg: z.literal('AES-256-GCM'),
  record: z.literal(RECORD_SIZE),
  /** The file stream's nonce prefix (7 bytes, base64url). */
  nonce: base64url,
  /** The per-file key, wrapped by the application (base64url for the built-in wrapping; opaque for a custom one). */
  key: z.string().min(1).max(600),
  /** `A256GCM`: wrapped by the SDK with a 32-byte application key; `app`: by the application's own function. */
  wrap: z.enum(['A256GCM', 'app']),
  /** Stored bytes of the preview stream at the start of the object (0: no preview). */
  preview: z.number().int().min(0),
  /** The preview's media type. */
  previewType: z.string().max(100).optional(),
});

export type EncryptionHeader = z.infer<typeof encryptionHeaderSchema>;

export const encodeHeader = (header: EncryptionHeader): string => JSON.stringify(header);

export function parseHeader(value: string | null | undefined): EncryptionHeader {
  if (!value) throw new HaulError('DECRYPTION_FAILED', 'this upload is not end-to-end encrypted (no encryption header)', { retryable: false });
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (error) {
    throw new HaulError('DECRYPTION_FAILED', 'the encryption header is not JSON', { cause: error, retryable: false });
  }
  const parsed = encryptionHeaderSchema.safeParse(json);
  if (!parsed.success) throw new HaulError('DECRYPTION_FAILED', `unsupported encryption header: ${parsed.error.issues[0]?.message ?? 'invalid'}`, { retryable: false });
  return parsed.data;
}

export function toBase64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Where the file stream's records sit in the stored object. */
export interface StreamLayout {
  /** Offset of the stream's first record in the object. */
  start: number;
  plaintextSize: number;
}

/** Where the preview stream sits: at the start of the object. */
export const parsePreviewLayout = (header: Pick<EncryptionHeader, 'preview'>): StreamLayout => ({ start: 0, plaintextSize: plaintextSizeOf(header.preview) });

/** Records [first, last] that hold plaintext bytes [start, end) of a stream, and where they are stored. */
export function coveringRecords(layout: StreamLayout, start: number, end: number): { first: number; last: number; from: number; to: number } {
  const records = recordCount(layout.plaintextSize);
  const first = Math.min(Math.floor(start / RECORD_SIZE), records - 1);
  const last = Math.max(first, Math.min(Math.ceil(end / RECORD_SIZE) - 1, records - 1));
  const from = layout.start + first * SEALED_RECORD_SIZE;
  const to = layout.start + Math.min(sealedSize(layout.plaintextSize), (last + 1) * SEALED_RECORD_SIZE);
  return { first, last, from, to };
}
