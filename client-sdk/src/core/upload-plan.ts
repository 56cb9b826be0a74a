import { CHECKSUM_CHUNK_SIZE } from './checksum-http-stack.js';
import type { FileReader } from 'tus-js-client';
import { uploadFingerprint } from './fingerprint.js';
import { type PartBoundary, partBoundaries } from './parallel.js';
import type { PreparedInput } from './platform.js';
import type { StoredUpload } from './resume-storage.js';
import type { UploadContext, UploadOptions } from './upload-types.js';

/**
 * What an upload will be, decided before tus-js-client starts: its metadata, its parts (one, or
 * up to `parallel` when the server concatenates), its fingerprint for resuming, and what an
 * earlier run left to continue. A transform of the bytes themselves (client-side encryption)
 * belongs here too: it wraps the prepared input, and the plan describes the transformed upload.
 */
export interface UploadPlan {
  /** What tus-js-client uploads: the prepared input, or its encrypted form. */
  prepared: PreparedInput;
  /** A reader of our own for `prepared.source` (encrypted uploads); default: tus-js-client's. */
  fileReader?: FileReader;
  metadata: Record<string, string>;
  /** Metadata of each partial of a parallel upload (default none): an encrypted upload's partials say so, to be refused before any byte when the server refuses encryption. */
  partialMetadata?: Record<string, string>;
  parts: PartBoundary[];
  /** Key in the resume index; null: not remembered across runs (no stable identity, resume off, or the same input already uploading). */
  fingerprint: string | null;
  /** Key tus-js-client saves the upload under (the fingerprint, or a one-off key). */
  storageKey: string;
  /** The earlier run's upload to continue. */
  previous: StoredUpload | undefined;
  chunkSize: number;
  /** A stream of unknown length: `Upload-Length` is sent with the last chunk. */
  uploadLengthDeferred: boolean;
}

/**
 * Streams are read in chunks of this size; files and buffers go in one request unless told
 * otherwise — or, with checksums on, in chunks of CHECKSUM_CHUNK_SIZE (each is hashed in memory).
 */
const STREAM_CHUNK_SIZE = 8 * 2 ** 20;

/**
 * Plans the upload of `prepared`. Reserves the fingerprint in `ctx.active` (the same input twice
 * at once must not share an upload); the caller releases it when the upload ends.
 */
export async function planUpload(ctx: UploadContext, prepared: PreparedInput, options: UploadOptions): Promise<UploadPlan> {
  const metadata = uploadMetadata(prepared, options);
  let parts = [{ start: 0, end: prepared.size ?? 0 }];
  const parallel = options.parallel ?? 1;
  if (parallel > 1 && prepared.size !== null && prepared.sliceable) {
    const split = partBoundaries(prepared.size, parallel);
    if (split.length > 1 && (await ctx.tus.supportsConcatenation())) parts = split;
  }
  const fingerprint = reserveFingerprint(ctx, prepared, options, parts.length, metadata);
  const previous = fingerprint && ctx.index ? await ctx.index.find(fingerprint) : undefined;
  return {
    prepared,
    metadata,
    parts,
    fingerprint,
    storageKey: storageKeyOf(fingerprint),
    previous,
    chunkSize: options.chunkSize ?? (prepared.needsChunkSize ? STREAM_CHUNK_SIZE : ctx.sha256 ? CHECKSUM_CHUNK_SIZE : Number.POSITIVE_INFINITY),
    uploadLengthDeferred: prepared.size === null && prepared.needsChunkSize === true,
  };
}

/** `filename`/`filetype` from the input, then the options' metadata over them. */
export function uploadMetadata(prepared: PreparedInput, options: UploadOptions): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (prepared.name) metadata.filename = prepared.name;
  if (prepared.type) metadata.filetype = prepared.type;
  for (const [key, value] of Object.entries(options.metadata ?? {})) if (value !== undefined) metadata[key] = value;
  return metadata;
}

/** The fingerprint to resume under, reserved in `ctx.active`; null when this upload is not remembered. */
export function reserveFingerprint(ctx: UploadContext, prepared: PreparedInput, options: UploadOptions, parts: number, metadata: Record<string, string>): string | null {
  const candidate = prepared.identity === null ? null : uploadFingerprint(prepared.identity, ctx.endpoint, parts, metadata);
  const fingerprint = options.resume !== false && ctx.index !== null && candidate !== null && !ctx.active.has(candidate) ? candidate : null;
  if (fingerprint) ctx.active.add(fingerprint);
  return fingerprint;
}

export const storageKeyOf = (fingerprint: string | null): string => fingerprint ?? `ephemeral|${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;

/** The upload URLs an earlier run stored (a parallel upload's partials, or the single one). */
export const storedUrls = (previous: StoredUpload | undefined): string[] =>
  previous ? [...(previous.parallelUploadUrls ?? []), ...(previous.uploadUrl ? [previous.uploadUrl] : [])] : [];
