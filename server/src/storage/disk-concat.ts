import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * Streams `partials` (files under `directory`) one after another into `target`. Written to a
 * temporary name and renamed at the end, so a crash never leaves a half-assembled file under
 * the final upload's name; partials are only read.
 */
export async function concatenateFiles(directory: string, target: string, partials: readonly string[]): Promise<void> {
  const resolve = (key: string) => {
    const file = path.resolve(directory, key);
    if (!file.startsWith(`${path.resolve(directory)}${path.sep}`)) throw new Error(`storage key outside ${directory}`);
    return file;
  };
  const finalPath = resolve(target);
  const temporary = `${finalPath}.assembling`;
  await fsp.mkdir(path.dirname(finalPath), { recursive: true });
  const out = fs.createWriteStream(temporary);
  try {
    for (const key of partials) {
      await pipeline(fs.createReadStream(resolve(key)), out, { end: false });
    }
    await new Promise<void>((done, fail) => out.end((error?: Error | null) => (error ? fail(error) : done())));
    await fsp.rename(temporary, finalPath);
  } catch (error) {
    out.destroy();
    await fsp.rm(temporary, { force: true });
    throw error;
  }
}
