import type { Readable } from 'node:stream';
import { type DataStore, ERRORS, type Upload } from '@tus/utils';
import type { Config } from '../config.js';
import type { HaulMetrics } from '../metrics/metrics.js';
import { createDiskStorage } from './disk-storage.js';
import type { KeyLayout } from './key-layout.js';
import type { PartialObject } from './s3-concat.js';
import { createS3Storage } from './s3-storage.js';

/**
 * What a backend can do beyond the tus core (create, write, read offsets, remove). Declared once
 * by each backend; the tus edge (`Tus-Extension`, Upload-Concat) and `/api/config` read it here.
 */
export interface StorageCapabilities {
  /** tus Concatenation: `concatenate` assembles a final upload from finished partials. */
  readonly concatenation: boolean;
}

/** The storage backend behind tus, plus what Haul itself needs from it. */
export interface Storage {
  readonly kind: 'disk' | 's3';
  readonly capabilities: StorageCapabilities;
  readonly store: DataStore;
  readonly layout: KeyLayout;
  /**
   * Writes a body that counts only if it ends without error: the tus checksum extension's "the
   * uploaded chunk MUST be discarded, and the upload and its offset MUST NOT be updated". If
   * `body` fails (its checksum stage refuses it, the client goes away), storage is left exactly
   * as before the call; otherwise as `store.write`. Disk writes in place and cuts a failed body
   * off again (haul-file-store.ts); S3 stages the body first (s3-verified-write.ts).
   */
  writeVerified(body: Readable, key: string, offset: number): Promise<number>;
  /** Throws if the backend cannot be used right now (readiness probe). */
  check(): Promise<void>;
  /** The stored bytes of a finished upload (or the inclusive byte range of them), as a stream. */
  read(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /**
   * S3 only: a short-lived presigned GET for `key`, with the response headers S3 lets us set.
   * Downloads then go straight from S3 to the client.
   */
  presignDownload?(key: string, options: { contentType: string; contentDisposition: string; expiresInSeconds: number }): Promise<string>;
  /** Disk only: the path of the stored file, for decoders that read files (ffmpeg, poppler, libheif). */
  localPath?(key: string): string;
  /**
   * Replaces a finished upload's stored bytes with those of the local file `file`, atomically: a
   * reader sees the old bytes or the new ones, never a mix (disk: write beside, fsync, rename; S3:
   * one PUT). Used to serve originals without their location (STRIP_LOCATION).
   */
  replace(key: string, file: string): Promise<void>;
  /** Stores a small derived file (a thumbnail) at `key`. */
  putDerived(key: string, body: Buffer, contentType: string): Promise<void>;
  /** Moves an upload's file out of normal storage (INFECTED_FILES=quarantine). */
  quarantine(key: string): Promise<void>;
  /** Deletes an upload's quarantined file (retention, erasure); succeeds if there is none. */
  removeQuarantined(key: string): Promise<void>;
  /**
   * tus Concatenation (when `capabilities.concatenation`): stores `final` (size and metadata set, offset = size) as the bytes of
   * `partials` in order, without holding any of them in memory. Partials are left untouched.
   */
  concatenate(final: Upload, partials: readonly PartialObject[]): Promise<void>;
  /**
   * Deduplication (uploads/stored-contents.ts): a second key for the finished file at `from`,
   * whatever its size, without passing its bytes through Haul (disk: a hard link, else a copy
   * renamed into place; S3: a copy inside S3). Overwrites `to`.
   */
  copy(from: string, to: string): Promise<void>;
  /**
   * Deduplication: removes only the stored file at `key` — not its tus metadata, previews or
   * quarantined copy, which belong to an upload and go with `remove`. Succeeds if already gone.
   */
  removeFile(key: string): Promise<void>;
  /** Removes everything an upload stored, derived files included; succeeds if already gone. */
  remove(key: string): Promise<void>;
  /**
   * Removes unfinished uploads begun before `before` that `isLive` does not claim, and returns
   * how many. S3 only: an abandoned multipart upload costs money and is invisible in bucket
   * listings. Only keys under our prefix are considered.
   */
  sweepAbandoned?(before: Date, isLive: (key: string) => Promise<boolean>): Promise<number>;
}

export const isNotFound = (error: unknown) =>
  error === ERRORS.FILE_NOT_FOUND ||
  (typeof error === 'object' && error !== null && (error as { status_code?: number }).status_code === 404);

/** Disk (DATA_DIR/files) by default; S3 when S3_BUCKET is set. */
/** `metrics` times S3 requests (haul_s3_request_duration_seconds); disk has nothing to time. */
export function createStorage(config: Config, metrics?: Pick<HaulMetrics, 's3RequestSeconds'>): Promise<Storage> {
  const expiryMs = config.uploads.expirySeconds * 1000;
  return config.s3 ? Promise.resolve(createS3Storage(config.s3, expiryMs, metrics)) : createDiskStorage(config.dataDir, expiryMs);
}
