import type { HaulMetrics } from '../metrics/metrics.js';
import type { Storage } from '../storage/storage.js';
import type { OffsetTracker } from '../uploads/offset-tracker.js';
import { bodyLimit, contentLengthOf } from './body-limit.js';
import { checksumSourceOf } from './checksum.js';
import type { TusRequest } from './request-context.js';
import { type BodyStage, type BodyStop, receiveBody, type WriteBody } from './upload-body.js';

/** The upload a body is written to, as its handler found it under the lock. */
export interface BodyTarget {
  /** Public upload id. */
  id: string;
  /** Storage key. */
  key: string;
  /** Current offset: where the first byte goes (checked against Upload-Offset by PATCH). */
  offset: number;
  /** Declared length; undefined while deferred. */
  size: number | undefined;
  /** While the length is deferred: how many more bytes the owner's quota allows (undefined: no quota). */
  quotaRoom?: number | undefined;
  /** Its declared name and type, and whether it is a partial upload (for stages that check content). */
  declared: { filename: string | null; filetype: string | null; partial: boolean; encrypted: boolean };
}

/**
 * Writes a request's body to an upload — shared by PATCH and creation-with-upload. Offsets
 * reach the offset tracker from here only, as the bytes pass (one `note` per chunk, batched
 * into the database by the tracker).
 *
 * A checksummed body (checksum.ts) is written all-or-nothing (Storage.writeVerified), and its
 * offset is noted only once it is verified: a body that fails its checksum must leave the upload
 * "and its offset" as they were, the offset shown by the files API included.
 */
export function createBodyWriter({ storage, offsets, maxSize, stages, metrics }: {
  storage: Pick<Storage, 'store' | 'writeVerified'>;
  offsets: Pick<OffsetTracker, 'note'>;
  maxSize: number;
  stages: readonly BodyStage[];
  /** haul_bytes_received_total moves as the bytes pass, not once a request ends. */
  metrics?: Pick<HaulMetrics, 'bytesReceived'>;
}) {
  const writeAsItComes: WriteBody = (body, key, offset) => storage.store.write(body, key, offset);
  const writeAllOrNothing: WriteBody = (body, key, offset) => storage.writeVerified(body, key, offset);

  return async function writeBody(request: TusRequest, target: BodyTarget, stop: BodyStop): Promise<number> {
    const { id, key, offset, size, quotaRoom, declared } = target;
    let reported = offset;
    const { limit, overLimit } = bodyLimit({ offset, size, maxSize, quotaRoom, contentLength: contentLengthOf(request.header('content-length')) });
    const checksummed = checksumSourceOf((name) => request.header(name)) !== undefined;
    const written = await receiveBody({
      source: request.incoming,
      write: checksummed ? writeAllOrNothing : writeAsItComes,
      key,
      offset,
      limit,
      overLimit,
      stop,
      stages,
      context: { uploadId: id, offset, size, upload: declared, header: (name) => request.header(name) },
      onProgress: (at) => {
        metrics?.bytesReceived.inc(at - reported);
        reported = at;
        if (!checksummed) offsets.note(id, at);
      },
    });
    if (checksummed) offsets.note(id, written);
    return written;
  };
}

export type BodyWriter = ReturnType<typeof createBodyWriter>;
