import type { KvStore, Upload } from '@tus/utils';
import { SettledCache } from './settled-cache.js';

/**
 * FileStore's record of an upload (`<key>.json`: length, metadata, creation date) is read on every
 * HEAD and PATCH. Reading a small file takes five file-system calls in a row on libuv's thread pool
 * (open, fstat, read, read, close), each a round trip the request waits for — most of the time a
 * PATCH spent before its first byte, more than the rest of its preparation together.
 *
 * Once the length is known nothing in the record changes (tus 1.0: "Once set the length MUST NOT
 * be changed"; the metadata and creation date never do), so from then on it is kept in memory,
 * even with several instances sharing the volume. While the length is deferred the record is
 * read from disk every time: another instance may declare it. Writes and removals go through
 * here (and drop the copy); the file on disk stays the record.
 */
export class SettledRecords implements KvStore<Upload> {
  // A copy: FileStore changes what it reads (declareUploadLength) before writing it back.
  readonly #settled = new SettledCache<Upload>((record) => ({ ...record }) as Upload);

  constructor(private readonly files: KvStore<Upload>) {}

  async get(key: string): Promise<Upload | undefined> {
    const known = this.#settled.get(key);
    if (known) return known;
    const record = await this.files.get(key);
    if (record?.size !== undefined) this.#settled.remember(key, record);
    return record;
  }

  async set(key: string, value: Upload): Promise<void> {
    this.#settled.forget(key);
    await this.files.set(key, value);
  }

  async delete(key: string): Promise<void> {
    this.#settled.forget(key);
    await this.files.delete(key);
  }

  async list(): Promise<string[]> {
    return (await this.files.list?.()) ?? [];
  }

  /** Drops the copy of `key`, if any: its record must be read from disk next time. */
  forget(key: string): void {
    this.#settled.forget(key);
  }
}
