import fsp from 'node:fs/promises';
import path from 'node:path';

/** The SDK (`@haul/client/node`) as seen from outside: what it keeps on disk to resume uploads. */

export interface StoredUpload {
  uploadUrl: string | null;
  parallelUploadUrls: string[] | null;
}

/** Resume entries the Node SDK (and its CLI) keeps in `<cacheDir>/uploads.json`; none when there is no file yet. */
export async function storedUploads(cacheDir: string): Promise<StoredUpload[]> {
  try {
    const outer = JSON.parse(await fsp.readFile(path.join(cacheDir, 'uploads.json'), 'utf8')) as Record<string, string>;
    const inner = outer['haul:uploads:v1'];
    return inner ? Object.values((JSON.parse(inner) as { uploads: Record<string, StoredUpload> }).uploads) : [];
  } catch {
    return [];
  }
}
