import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { userStorageKey } from '../../server/src/auth/user.js';

/**
 * Local files: the sources tests upload (written a MiB at a time, never held in memory whole,
 * with their SHA-256 known up front) and what the server stored on disk, compared by SHA-256.
 */

const MiB = 2 ** 20;

export interface SourceFile {
  path: string;
  size: number;
  sha256: string;
}

/** Writes `size` bytes, a MiB at a time, each made by `chunk(n)`; returns the file with its SHA-256. */
async function writeFile(file: string, size: number, chunk: (n: number) => Buffer): Promise<SourceFile> {
  const hash = createHash('sha256');
  const handle = await fsp.open(file, 'w');
  try {
    for (let written = 0; written < size; ) {
      const bytes = chunk(Math.min(MiB, size - written));
      hash.update(bytes);
      await handle.write(bytes);
      written += bytes.length;
    }
  } finally {
    await handle.close();
  }
  return { path: file, size, sha256: hash.digest('hex') };
}

/** `size` random bytes in `dir` (default: a new temporary directory). */
export async function randomFile(size: number, dir?: string): Promise<SourceFile> {
  const folder = dir ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-src-')));
  return writeFile(path.join(folder, `random-${size}.bin`), size, (n) => randomBytes(n));
}

/** Deletes a randomFile() made in a temporary directory of its own, with that directory. */
export async function removeRandomFile(file: SourceFile | undefined): Promise<void> {
  if (file) await fsp.rm(path.dirname(file.path), { recursive: true, force: true });
}

/**
 * Random hex text in 100-byte lines: text/plain passes the server's type checks, so uploads
 * reach `ready` and processing records a SHA-256 to compare with.
 */
export async function textFile(dir: string, name: string, size: number): Promise<SourceFile> {
  return writeFile(path.join(dir, name), size, (n) => {
    const chunk = Buffer.from(randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n), 'latin1');
    for (let i = 99; i < chunk.length; i += 100) chunk[i] = 0x0a;
    return chunk;
  });
}

/** Bytes [start, end) of a file (keep ranges small: a few MiB). */
export async function readRange(file: string, start: number, end: number): Promise<Buffer> {
  const handle = await fsp.open(file, 'r');
  try {
    const buffer = Buffer.alloc(end - start);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** SHA-256 of a whole file, or of bytes [start, end), streamed. */
export async function sha256File(file: string, start?: number, end?: number): Promise<string> {
  const hash = createHash('sha256');
  if (start !== undefined && end !== undefined && end <= start) return hash.digest('hex');
  for await (const chunk of fs.createReadStream(file, { start, end: end === undefined ? undefined : end - 1 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The size of a file, or undefined when there is none. */
export async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await fsp.stat(file)).size;
  } catch {
    return undefined;
  }
}

export const exists = (file: string) => fsp.access(file).then(() => true, () => false);

/** Where the server keeps an upload's bytes on disk: DATA_DIR/files/<user-key>/<upload-id> (README "Storage layout"). */
export const storedPath = (dataDir: string, user: string, uploadId: string) =>
  path.join(dataDir, 'files', userStorageKey(user), uploadId);
