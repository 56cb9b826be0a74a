import { createHash, randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';

const MiB = 2 ** 20;

export interface TextFile {
  path: string;
  size: number;
  sha256: string;
}

/**
 * Random hex text in 100-byte lines, written a MiB at a time: text/plain passes the server's
 * type checks, so uploads reach `ready` and processing records a SHA-256 to compare with.
 */
export async function textFile(dir: string, name: string, size: number): Promise<TextFile> {
  const file = path.join(dir, name);
  const hash = createHash('sha256');
  const handle = await fsp.open(file, 'w');
  try {
    for (let written = 0; written < size; ) {
      const n = Math.min(MiB, size - written);
      const chunk = Buffer.from(randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n), 'latin1');
      for (let i = 99; i < chunk.length; i += 100) chunk[i] = 0x0a;
      hash.update(chunk);
      await handle.write(chunk);
      written += n;
    }
  } finally {
    await handle.close();
  }
  return { path: file, size, sha256: hash.digest('hex') };
}
