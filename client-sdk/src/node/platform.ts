import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { alwaysOnline } from '../core/connectivity.js';
import { HaulError } from '../core/errors.js';
import { sampleHash } from '../core/fingerprint.js';
import type { Platform, PreparedInput } from '../core/platform.js';
import { nodePreview } from './preview.js';
import type { ResumeStorage } from '../core/resume-storage.js';
import { defaultCacheDir, fileStorage } from './file-storage.js';

/**
 * What `@haul/client/node` uploads: a file path (or `file:` URL), an `fs.ReadStream` (its
 * `start`/`end` range, if set), bytes, a Blob, or any other Readable (no parallel upload and no
 * resuming after a restart for those: a stream cannot be read twice).
 *
 * @example
 * ```ts
 * import { createHash } from 'node:crypto';
import fs from 'node:fs';
 * const inputs: NodeUploadInput[] = ['./video.mp4', fs.createReadStream('./photo.jpg'), Buffer.from('hello')];
 * ```
 */
export type NodeUploadInput = string | URL | fs.ReadStream | Uint8Array | ArrayBuffer | Blob | Readable;

async function statFile(file: string) {
  try {
    const stat = await fsp.stat(file);
    if (!stat.isFile()) throw new HaulError('INVALID_INPUT', `${file} is not a regular file`, { retryable: false });
    return stat;
  } catch (error) {
    if (error instanceof HaulError) throw error;
    throw new HaulError('INVALID_INPUT', `cannot read ${file}: ${(error as Error).message}`, { cause: error, retryable: false });
  }
}

/** A numeric property the types do not declare, if it is there. */
const numberProperty = (value: object, key: string): number | undefined => {
  const found: unknown = Reflect.get(value, key);
  return typeof found === 'number' ? found : undefined;
};

const bufferOf = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

function prepareBuffer(buffer: Buffer, name?: string, type?: string): PreparedInput {
  const readRange = async (start: number, end: number) => buffer.subarray(start, end);
  return { source: buffer, size: buffer.length, name, type, identity: `bytes:${sampleHash(buffer)}`, sliceable: true, readRange };
}

async function prepareFile(stream: fs.ReadStream, file: string, ownsStream: boolean): Promise<PreparedInput> {
  const stat = await statFile(file);
  // fs.ReadStream keeps its createReadStream range (not in @types/node); `end` is inclusive.
  const rangeEnd = numberProperty(stream, 'end');
  const start = numberProperty(stream, 'start') ?? 0;
  const endInclusive = rangeEnd !== undefined && Number.isFinite(rangeEnd) ? Math.min(rangeEnd, stat.size - 1) : stat.size - 1;
  const size = Math.max(0, endInclusive - start + 1);
  // tus-js-client reads the file by path (fresh streams per slice); the given stream is only a handle.
  stream.on('error', () => {});
  // Encryption reads ranges itself, through one handle opened on first use.
  let handle: Promise<fsp.FileHandle> | undefined;
  const readRange = async (from: number, to: number): Promise<Uint8Array> => {
    handle ??= fsp.open(file, 'r');
    const bytes = Buffer.allocUnsafe(to - from);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await (await handle).read(bytes, filled, bytes.length - filled, start + from + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return bytes.subarray(0, filled);
  };
  return {
    readRange,
    source: stream,
    size,
    name: path.basename(file),
    identity: `path:${path.resolve(file)}:${start}-${endInclusive}:${stat.size}:${stat.mtimeMs}:${stat.ino}`,
    sliceable: true,
    close: () => {
      if (ownsStream) stream.destroy();
      void handle?.then((h) => h.close()).catch(() => {});
      handle = undefined;
    },
  };
}

export function nodePlatform({ cacheDir }: { cacheDir?: string } = {}): Platform<NodeUploadInput> {
  return {
    async prepare(input) {
      if (typeof input === 'string' || input instanceof URL) {
        const file = input instanceof URL ? fileURLToPath(input) : input;
        await statFile(file);
        return prepareFile(fs.createReadStream(file), file, true);
      }
      if (input instanceof fs.ReadStream && input.path !== undefined) {
        return prepareFile(input, input.path.toString(), false);
      }
      if (input instanceof Uint8Array) return prepareBuffer(bufferOf(input));
      if (input instanceof ArrayBuffer) return prepareBuffer(Buffer.from(input));
      if (input instanceof Blob) {
        const name = typeof (input as Partial<File>).name === 'string' ? (input as File).name : undefined;
        return prepareBuffer(Buffer.from(await input.arrayBuffer()), name, input.type || undefined);
      }
      if (input instanceof Readable) {
        return { source: input, size: null, identity: null, needsChunkSize: true, sliceable: false };
      }
      throw new HaulError('INVALID_INPUT', 'upload() takes a file path, file URL, fs.ReadStream, Buffer/Uint8Array, ArrayBuffer, Blob or Readable', { retryable: false });
    },
    defaultStorage(): ResumeStorage {
      return fileStorage(path.join(cacheDir ?? defaultCacheDir(), 'uploads.json'));
    },
    defaultConnectivity: () => alwaysOnline,
    sha256: async (bytes) => createHash('sha256').update(bytes).digest(),
    // tus-js-client's Node HTTP stack pipes a Readable body, with `size` as its Content-Length.
    cryptoEngine: 'node',
    streamBody: (pieces, size) => Object.assign(Readable.from(pieces, { objectMode: false }), { size }),
    preview: (input, prepared) => nodePreview(typeof input === 'string' || input instanceof URL ? input : null, prepared),
  };
}
