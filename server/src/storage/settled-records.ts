import type { KvStore, Upload } from '@tus/utils';

const MAX_RECORDS = 10_000;

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
 * here (and drop the copy); the file on disk stays the record. Bounded; least recently used first.
 */
export class SettledRecords implements KvStore<Upload> {
  readonly #settled = new Map<string, Upload>();

  constructor(private readonly files: KvStore<Upload>, private readonly max = MAX_RECORDS) {}

  async get(key: string): Promise<Upload | undefined> {
    const known = this.#settled.get(key);
    if (known) {
      this.#settled.delete(key);
      this.#settled.set(key, known);
      // A copy: FileStore changes what it reads (declareUploadLength) before writing it back.
      return { ...known } as Upload;
    }
    const record = await this.files.get(key);
    if (record?.size !== undefined) this.#remember(key, record);
    return record;
  }

  async set(key: string, value: Upload): Promise<void> {
    this.#settled.delete(key);
    await this.files.set(key, value);
  }

  async delete(key: string): Promise<void> {
    this.#settled.delete(key);
    await this.files.delete(key);
  }

  async list(): Promise<string[]> {
    return (await this.files.list?.()) ?? [];
  }

  /** Drops the copy of `key`, if any: its record must be read from disk next time. */
  forget(key: string): void {
    this.#settled.delete(key);
  }

  #remember(key: string, record: Upload): void {
    this.#settled.set(key, { ...record } as Upload);
    if (this.#settled.size > this.max) this.#settled.delete(this.#settled.keys().next().value!);
  }
}
