import type { Readable } from 'node:stream';
import { type DataStore, ERRORS, type Upload } from '@tus/utils';
import type { Config } from '../config.js';
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
  /** Throws if the backend cannot be used right now (readiness probe). */
  check(): Promise<void>;
  /** The stored bytes of a finished upload (or the inclusive byte range of them), as a stream. */
  read(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /**
   * S3 only: a short-lived presigned GET for `key`, with the response headers S3 lets us set.
   * Downloads then go straight from S3 to the client.
   */
  presignDownload?(key: string, options: { contentType: string; contentDisposition: string; expiresInSeconds: number }): Promise<string>;
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
export function createStorage(config: Config): Promise<Storage> {
  const expiryMs = config.uploads.expirySeconds * 1000;
  return config.s3 ? Promise.resolve(createS3Storage(config.s3, expiryMs)) : createDiskStorage(config.dataDir, expiryMs);
}
