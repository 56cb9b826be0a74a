import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Storage } from '../storage/storage.js';
import { canStripLocation, createLocationStripper } from './media/strip-location.js';
import { withTempDir } from './media/sandbox.js';

/**
 * STRIP_LOCATION: an original's GPS position removed from the stored file itself, so every way
 * of getting it (the content route, a presigned S3 URL, a share link) serves the same bytes and
 * the recorded SHA-256 is the hash of those bytes.
 *
 * Where: in the processing job, after the verdict (a file that is not kept is not rewritten)
 * and before the outcome is recorded, so nothing serves the file in between (only `ready`
 * uploads are served). How, crash-safely: the stored file is streamed through the stripper into
 * a private temp file, hashed on the way; only if something was removed does that file replace
 * the stored one, atomically (Storage.replace). Stripping a stripped file changes nothing, so a
 * job that dies at any point and runs again ends with the same bytes and the same hash.
 */

export type StripOutcome =
  /** Nothing to do: the format carries no location we know of, or stripping is off. */
  | { kind: 'not-applicable' }
  /** The stored file is now what is served: its hash and size. */
  | { kind: 'stripped'; sha256: string; size: number; locationFound: boolean }
  /** The file's structure could not be followed: fail closed, never serve it believing it clean. */
  | { kind: 'failed'; reason: string };

export async function stripStoredLocation({ storage, storageKey, detectedType, originalSha256 }: {
  storage: Pick<Storage, 'read' | 'replace'>;
  storageKey: string;
  detectedType: string;
  /** The hash of the stored bytes: if the stripped copy has it too, nothing is rewritten. */
  originalSha256: string;
}): Promise<StripOutcome> {
  if (!canStripLocation(detectedType)) return { kind: 'not-applicable' };
  return withTempDir(async (dir) => {
    const copy = path.join(dir, 'stripped');
    const stripper = createLocationStripper(detectedType);
    const hash = createHash('sha256');
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    // A storage failure is transient: it is thrown, and the job is retried. Only the stripper's own error is the file's.
    const source = await storage.read(storageKey);
    try {
      await pipeline(source, stripper.stream, measure, fs.createWriteStream(copy));
    } catch (error) {
      stripper.stream.destroy(); // settles the report, whichever stream failed
      const failure = await stripper.report.then(() => undefined, (e: Error) => e);
      if (failure === undefined || failure !== error) throw error;
      return { kind: 'failed', reason: `location metadata could not be removed (${failure.message})` };
    }
    const { locationFound } = await stripper.report;
    const sha256 = hash.digest('hex');
    if (sha256 !== originalSha256) await storage.replace(storageKey, copy);
    return { kind: 'stripped', sha256, size, locationFound };
  });
}
