import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { HaulS3Store } from './haul-s3-store.js';

/**
 * All-or-nothing writes on S3 (Storage.writeVerified): the body is staged in a local file while
 * it streams (and is verified), and only a verified body is handed to the S3 store.
 *
 * Why stage rather than write and undo, as disk does: a write can span several multipart parts,
 * and S3 has no way to remove one part of a multipart upload; HaulS3Store also replaces the
 * `.part` tail (the incomplete part) with the old tail plus the new bytes as it goes. Undoing
 * that would mean shadow bookkeeping of "verified" parts in `.info`, and a crash between the two
 * would still leave unverified bytes counted. Staged, a refused or interrupted body never
 * reaches S3: parts, `.part` and `.info` are untouched, byte for byte.
 *
 * Cost: local disk space for the chunk while it is verified (S3Store itself already buffers each
 * part in a temporary file), and the upload to S3 starts when the body has ended instead of
 * alongside it. Memory stays bounded: the body is streamed to the file and back out.
 */
export async function writeVerifiedViaStaging(store: HaulS3Store, body: Readable, key: string, offset: number): Promise<number> {
  const staged = path.join(os.tmpdir(), `haul-verified-${randomUUID()}`);
  try {
    // The body fails (and so does this pipeline) if its checksum stage refuses it.
    await pipeline(body, fs.createWriteStream(staged, { flags: 'wx' }));
    return await store.write(fs.createReadStream(staged), key, offset);
  } finally {
    await fsp.rm(staged, { force: true });
  }
}
