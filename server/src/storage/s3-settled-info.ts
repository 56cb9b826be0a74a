import type { MetadataValue } from '@tus/s3-store';
import { type KvStore, Upload } from '@tus/utils';
import { SettledCache } from './settled-cache.js';

/**
 * S3Store's cache of each upload's `.info` (its length, metadata, creation date and multipart
 * upload id), read on every HEAD and PATCH — a GetObject each, in a row before anything else.
 *
 * S3Store keeps every `.info` it read in memory; with several Haul instances another one can
 * change it (declare a deferred length), so that copy could go stale. Here only a settled
 * `.info` is kept: once the length is known nothing in it changes (tus 1.0: "Once set the length
 * MUST NOT be changed"; the multipart upload id, metadata and creation date never do), on any
 * instance. While the length is deferred it is read from S3 every time. An upload removed
 * meanwhile by another instance is noticed by HaulS3Store.getUpload (its multipart upload is
 * gone), which then forgets the copy and asks S3.
 */
export class SettledInfo implements KvStore<MetadataValue> {
  // A copy, so that no caller changes what is kept.
  readonly #settled = new SettledCache<MetadataValue>((value) => ({ ...value, file: new Upload({ ...value.file }) }));

  async get(id: string): Promise<MetadataValue | undefined> {
    return this.#settled.get(id);
  }

  /** Called by S3Store with every `.info` it read, and by HaulS3Store with every one it wrote. */
  async set(id: string, value: MetadataValue): Promise<void> {
    if (value.file.size === undefined) this.#settled.forget(id);
    else this.#settled.remember(id, value);
  }

  async delete(id: string): Promise<void> {
    this.forget(id);
  }

  /** Drops the copy of `id`; true if there was one. */
  forget(id: string): boolean {
    return this.#settled.forget(id);
  }
}
