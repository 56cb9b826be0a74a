import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileConfigstore, FileStore } from '@tus/file-store';
import { ERRORS, Upload } from '@tus/utils';
import { SettledRecords } from './settled-records.js';

/** `name` resolved in `directory`, or undefined if it would point outside it. */
function pathInside(directory: string, name: string): string | undefined {
  const file = path.resolve(directory, name);
  return file.startsWith(`${path.resolve(directory)}${path.sep}`) ? file : undefined;
}

/**
 * FileConfigstore whose records (`<key>.json`) are replaced whole: written under `<key>.json.writing`,
 * then renamed into place. Written in place, a record is empty from the moment `writeFile` opens
 * it until it writes — what a crash leaves, and what another reader sees meanwhile — and an upload
 * without a readable record is "not found": its client starts over. Declaring a deferred length
 * rewrites the record of an upload that already holds bytes.
 */
class WholeRecords extends FileConfigstore {
  override async set(key: string, value: Upload): Promise<void> {
    const file = pathInside(this.directory, `${key}.json`);
    if (file === undefined) throw ERRORS.FILE_NOT_FOUND; // as FileConfigstore
    await fsp.writeFile(`${file}.writing`, JSON.stringify(value));
    await fsp.rename(`${file}.writing`, file);
  }
}

/** The offset a marker holds, or undefined if it holds none (left unwritten by a crash). */
const offsetIn = (marker: string): number | undefined => (/^\d{1,15}$/.test(marker) ? Number(marker) : undefined);

/**
 * @tus/file-store with all-or-nothing writes for bodies that are verified only once they have
 * ended (tus checksum). The bytes go straight into the upload's file as with any write — no
 * second copy, so a checksummed upload costs the digest and nothing more — and a body that fails
 * is cut off again: the file is truncated to the offset it had before the write (FileStore's
 * offset is the file's size, so that is exactly the state before the request).
 *
 * Crash safety: before the bytes go in, `<key>.unverified` records the offset before the write;
 * it is removed once the body is verified (or cut off). A marker found later means the process
 * died mid-write with bytes nobody verified: `getUpload` — called under the upload's lock, by the
 * next HEAD or PATCH, before anything else looks at the file — cuts them off first. A marker that
 * holds no offset was itself cut short by the crash, before any of the body: it cuts nothing.
 *
 * Reading an upload (every HEAD and PATCH) is one round of file-system calls, not a chain of
 * them: the marker, the upload's record (in memory once its length is known, settled-records.ts)
 * and the file's size are looked up at once.
 */
export class HaulFileStore extends FileStore {
  private readonly records: SettledRecords;

  constructor({ directory, expirationPeriodInMilliseconds }: { directory: string; expirationPeriodInMilliseconds?: number }) {
    const records = new SettledRecords(new WholeRecords(directory));
    super({ directory, expirationPeriodInMilliseconds, configstore: records });
    this.records = records;
  }

  private pathOf(key: string): string {
    const file = pathInside(this.directory, key);
    if (file === undefined) throw new Error('storage key outside the data directory');
    return file;
  }

  /** The marker of an unverified write in progress (or interrupted by a crash). */
  unverifiedMarkerOf(key: string): string {
    return `${this.pathOf(key)}.unverified`;
  }

  /** Writes `body` at `offset`; if the body fails (a checksum mismatch, the client gone), its bytes are cut off again. */
  async writeVerified(body: Readable, key: string, offset: number): Promise<number> {
    const marker = this.unverifiedMarkerOf(key);
    await fsp.writeFile(marker, String(offset));
    try {
      const written = await this.write(body, key, offset);
      await fsp.rm(marker, { force: true });
      return written;
    } catch (error) {
      await this.cutOff(key, offset);
      throw error;
    }
  }

  override async getUpload(id: string): Promise<Upload> {
    const file = this.pathOf(id);
    const sizeOf = (): Promise<number | NodeJS.ErrnoException> =>
      fsp.stat(file).then((stats) => (stats.isDirectory() ? Number.NaN : stats.size), (error: NodeJS.ErrnoException) => error);
    const [marker, record, measured] = await Promise.all([
      fsp.readFile(this.unverifiedMarkerOf(id), 'utf8').catch(() => undefined),
      this.configstore.get(id),
      sizeOf(),
    ]);
    let offset = measured;
    if (marker !== undefined) {
      const before = offsetIn(marker);
      // Never past the file's end: truncating there would add zeros nobody sent.
      if (before !== undefined && (typeof measured !== 'number' || before <= measured)) {
        await this.cutOff(id, before);
        offset = await sizeOf();
      } else {
        // Unfinished: the process died inside the marker's own write (writeFile opens with O_TRUNC,
        // then writes), before any byte of the body went in, so every byte in the file was verified.
        // Read as a number, an empty marker would be 0 and cut the whole upload off.
        await fsp.rm(this.unverifiedMarkerOf(id), { force: true });
      }
    }
    if (!record || Number.isNaN(offset)) throw ERRORS.FILE_NOT_FOUND; // no record; or a directory
    if (typeof offset !== 'number') {
      if (offset.code !== 'ENOENT') throw offset;
      // A record kept in memory may be of an upload another instance has removed since.
      this.records.forget(id);
      throw (await this.records.get(id)) ? ERRORS.FILE_NO_LONGER_EXISTS : ERRORS.FILE_NOT_FOUND;
    }
    return new Upload({ id, size: record.size, offset, metadata: record.metadata, creation_date: record.creation_date, storage: { type: 'file', path: path.join(this.directory, id) } });
  }

  /**
   * FileStore.write without its byte-counting Transform: the file stream counts what it wrote,
   * and every stream a chunk passes through costs a hop per chunk (16,384 per GiB).
   */
  override async write(body: Readable, id: string, offset: number): Promise<number> {
    const file = fs.createWriteStream(this.pathOf(id), { flags: 'r+', start: offset });
    try {
      await pipeline(body, file);
    } catch {
      // As FileStore: the bytes that reached the file stay; the next getUpload reads its size.
      throw ERRORS.FILE_WRITE_ERROR;
    }
    return offset + file.bytesWritten;
  }

  override async remove(id: string): Promise<void> {
    this.records.forget(id);
    await super.remove(id);
  }

  private async cutOff(key: string, offset: number): Promise<void> {
    await fsp.truncate(this.pathOf(key), offset).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await fsp.rm(this.unverifiedMarkerOf(key), { force: true });
  }
}
