import { timingSafeEqual } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { HaulError } from '../errors.js';
import { ThreadDigest } from './digest-thread.js';
import type { BodyStage, BodyStageContext } from './upload-body.js';

/**
 * tus checksum and checksum-trailer extensions: the digest of a PATCH body (or of a POST body
 * with creation-with-upload) is computed while the bytes stream past, by a body stage
 * (upload-body.ts), and compared once the body has ended. A body that fails the comparison fails
 * its stream; the store it was written to then discards it (Storage.writeVerified), so the
 * upload is exactly as before the request.
 *
 * tus 1.0: "Once the entire request has been received, the Server MUST verify the uploaded chunk
 * against the provided checksum using the specified algorithm. Depending on the result the Server
 * MAY respond with one of the following status code: 1) 400 Bad Request if the checksum algorithm
 * is not supported by the server, 2) 460 Checksum Mismatch if the checksums mismatch or 3) 204 No
 * Content if the checksums match and the processing of the data succeeded. In the first two cases
 * the uploaded chunk MUST be discarded, and the upload and its offset MUST NOT be updated."
 */

/**
 * Algorithms verified, in Tus-Checksum-Algorithm order. tus 1.0: "The Server MUST support at
 * least the SHA1 checksum algorithm identified by sha1." Names are node:crypto's.
 */
export const CHECKSUM_ALGORITHMS = ['sha1', 'sha256', 'sha512', 'md5'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { sha1: 20, sha256: 32, sha512: 64, md5: 16 };
const isAlgorithm = (name: string): name is ChecksumAlgorithm => (CHECKSUM_ALGORITHMS as readonly string[]).includes(name);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface ExpectedChecksum {
  algorithm: ChecksumAlgorithm;
  digest: Buffer;
}

/**
 * Parses an Upload-Checksum value. tus 1.0: "The header MUST consist of the name of the used
 * checksum algorithm and the Base64 encoded checksum separated by a space." and "The names of
 * the checksum algorithms MUST only consist of ASCII characters with the modification that
 * uppercase characters are excluded." A malformed value → 400 INVALID_CHECKSUM; a well-formed one
 * naming another algorithm → 400 CHECKSUM_ALGORITHM_UNSUPPORTED.
 */
export function parseUploadChecksum(value: string): ExpectedChecksum {
  const match = /^([\x21-\x40\x5b-\x7e]+) ([A-Za-z0-9+/=]+)$/.exec(value.trim());
  if (!match || !BASE64.test(match[2] ?? '')) throw new HaulError('INVALID_CHECKSUM');
  const name = match[1]!;
  const encoded = match[2]!;
  if (!isAlgorithm(name)) {
    throw new HaulError('CHECKSUM_ALGORITHM_UNSUPPORTED', `Upload-Checksum algorithm "${name.slice(0, 20)}" is not supported; use one of ${CHECKSUM_ALGORITHMS.join(', ')}`);
  }
  const digest = Buffer.from(encoded, 'base64');
  if (digest.length !== DIGEST_BYTES[name]) {
    throw new HaulError('INVALID_CHECKSUM', `A ${name} checksum has ${DIGEST_BYTES[name]} bytes, this one ${digest.length}`);
  }
  return { algorithm: name, digest };
}

/**
 * How a request says its body is checksummed: in the Upload-Checksum header, or announced in
 * `Trailer` and sent as a trailer after the body (checksum-trailer). The header wins if both.
 */
export type ChecksumSource = { kind: 'header'; expected: ExpectedChecksum } | { kind: 'trailer' };

/** The request's checksum, if any; throws 400 for a malformed or unsupported header (before any byte is read). */
export function checksumSourceOf(header: (name: string) => string | undefined): ChecksumSource | undefined {
  const value = header('upload-checksum');
  if (value !== undefined) return { kind: 'header', expected: parseUploadChecksum(value) };
  const announced = header('trailer')?.split(',').some((name) => name.trim().toLowerCase() === 'upload-checksum');
  return announced ? { kind: 'trailer' } : undefined;
}

/**
 * Passes the body on unchanged while hashing it (on the digest thread, digest-thread.ts); when
 * it ends, compares the digest and fails the stream (HaulError) unless it matches. In trailer
 * form the algorithm is known only after the body, so every supported digest is computed (the
 * price of streaming: nothing is buffered).
 */
class ChecksumVerifier extends Transform {
  readonly #algorithms: readonly ChecksumAlgorithm[];
  readonly #digest: ThreadDigest;

  constructor(
    private readonly source: ChecksumSource,
    private readonly context: BodyStageContext,
  ) {
    super();
    this.#algorithms = source.kind === 'header' ? [source.expected.algorithm] : CHECKSUM_ALGORITHMS;
    this.#digest = new ThreadDigest(this.#algorithms);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#digest.update(chunk).then(() => callback(null, chunk), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.verify().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#digest.discard();
    callback(error);
  }

  private async verify(): Promise<void> {
    const expected = this.expected();
    const digests = await this.#digest.digest();
    const actual = digests[this.#algorithms.indexOf(expected.algorithm)]!;
    if (!timingSafeEqual(actual, expected.digest)) {
      const ended = this.context.stopReason();
      throw new HaulError(
        'CHECKSUM_MISMATCH',
        ended
          ? `The body ended early (${ended}), so it cannot match its Upload-Checksum; it was discarded`
          : `The body's ${expected.algorithm} digest does not match Upload-Checksum; it was discarded`,
      );
    }
  }

  private expected(): ExpectedChecksum {
    if (this.source.kind === 'header') return this.source.expected;
    const trailer = this.context.trailer('upload-checksum');
    if (trailer === undefined) {
      throw new HaulError('INVALID_CHECKSUM', 'Trailer announced Upload-Checksum, but the body ended without it; the body was discarded');
    }
    return parseUploadChecksum(trailer);
  }
}

/** The body stage of the checksum extensions: nothing to do for a request without a checksum. */
export const checksumStage: BodyStage = (context) => {
  const source = checksumSourceOf(context.header);
  return source ? new ChecksumVerifier(source, context) : undefined;
};
