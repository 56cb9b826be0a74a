import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface RandomFile {
  path: string;
  size: number;
  sha256: string;
  /** Bytes [start, end) of the file (small ranges only). */
  slice(start: number, end: number): Promise<Buffer>;
}

/** A file of `size` random bytes written in 1 MiB steps (never held in memory whole). */
export async function randomFile(size: number, dir?: string): Promise<RandomFile> {
  const folder = dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'haul-src-')));
  const file = path.join(folder, `random-${size}.bin`);
  const handle = await fs.open(file, 'w');
  const hash = createHash('sha256');
  try {
    for (let written = 0; written < size; ) {
      const chunk = randomBytes(Math.min(2 ** 20, size - written));
      hash.update(chunk);
      await handle.write(chunk);
      written += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return {
    path: file,
    size,
    sha256: hash.digest('hex'),
    async slice(start, end) {
      const h = await fs.open(file, 'r');
      try {
        const buffer = Buffer.alloc(end - start);
        await h.read(buffer, 0, buffer.length, start);
        return buffer;
      } finally {
        await h.close();
      }
    },
  };
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await fs.open(file, 'r');
  try {
    for await (const chunk of handle.createReadStream()) hash.update(chunk as Buffer);
  } finally {
    await handle.close().catch(() => {});
  }
  return hash.digest('hex');
}
