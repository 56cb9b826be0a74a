import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { FileStore } from '@tus/file-store';
import type { Upload } from '@tus/utils';

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
 * next HEAD or PATCH, before anything else looks at the file — cuts them off first.
 */
export class HaulFileStore extends FileStore {
  private pathOf(key: string): string {
    const file = path.resolve(this.directory, key);
    if (!file.startsWith(`${path.resolve(this.directory)}${path.sep}`)) throw new Error('storage key outside the data directory');
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
    const marker = await fsp.readFile(this.unverifiedMarkerOf(id), 'utf8').catch(() => undefined);
    const before = marker === undefined ? Number.NaN : Number(marker);
    if (Number.isSafeInteger(before) && before >= 0) await this.cutOff(id, before);
    return super.getUpload(id);
  }

  private async cutOff(key: string, offset: number): Promise<void> {
    await fsp.truncate(this.pathOf(key), offset).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await fsp.rm(this.unverifiedMarkerOf(key), { force: true });
  }
}
