import type { MetadataValue } from '@tus/s3-store';
import type { KvStore } from '@tus/utils';

/**
 * S3Store caches each upload's `.info` in process memory. With several Haul instances behind a
 * load balancer another instance can change it (deferred length declared, upload completed),
 * so a cached copy would go stale. Every read goes to S3 instead.
 */
export class NoCache implements KvStore<MetadataValue> {
  async get(): Promise<undefined> {
    return undefined;
  }
  async set(): Promise<void> {}
  async delete(): Promise<void> {}
}

const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NoSuchUpload', 'NotFound']);
export const isS3NotFound = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && NOT_FOUND_CODES.has((error as { name?: string }).name ?? '');

/** Metadata key on `.part` objects: the upload offset their first byte belongs at. */
export const PART_START = 'tus-part-start';

/** What HaulS3Store.write knows about the write in progress, for the `.part` it may store. */
export interface WriteInProgress {
  /** Upload offset of the first byte handed to uploadParts. */
  streamStart: number;
  chunkSize: number;
  bytesSeen: number;
  wroteIncompletePart: boolean;
}

export const sumSizes = (parts: Array<{ Size?: number }>) => parts.reduce((total, part) => total + (part.Size ?? 0), 0);

/** A type the object may be served as; anything odd becomes application/octet-stream. */
const SAFE_CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i;
export const contentTypeOf = (filetype: string | null | undefined) =>
  filetype && SAFE_CONTENT_TYPE.test(filetype) ? filetype : 'application/octet-stream';
