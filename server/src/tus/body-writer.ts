import type { DataStore } from '@tus/utils';
import type { HaulMetrics } from '../metrics/metrics.js';
import type { OffsetTracker } from '../uploads/offset-tracker.js';
import { bodyLimit, contentLengthOf } from './body-limit.js';
import type { TusRequest } from './request-context.js';
import { type BodyStage, type BodyStop, receiveBody } from './upload-body.js';

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
}

/**
 * Writes a request's body to an upload — shared by PATCH and creation-with-upload. Offsets
 * reach the offset tracker from here only, as the bytes pass (one `note` per chunk, batched
 * into the database by the tracker).
 */
export function createBodyWriter({ store, offsets, maxSize, stages, metrics }: {
  store: DataStore;
  offsets: Pick<OffsetTracker, 'note'>;
  maxSize: number;
  stages: readonly BodyStage[];
  /** haul_bytes_received_total moves as the bytes pass, not once a request ends. */
  metrics?: Pick<HaulMetrics, 'bytesReceived'>;
}) {
  return function writeBody(request: TusRequest, target: BodyTarget, stop: BodyStop): Promise<number> {
    const { id, key, offset, size, quotaRoom } = target;
    let reported = offset;
    const { limit, overLimit } = bodyLimit({ offset, size, maxSize, quotaRoom, contentLength: contentLengthOf(request.header('content-length')) });
    return receiveBody({
      source: request.incoming,
      store,
      key,
      offset,
      limit,
      overLimit,
      stop,
      stages,
      context: { uploadId: id, offset, size, header: (name) => request.header(name) },
      onProgress: (at) => {
        metrics?.bytesReceived.inc(at - reported);
        reported = at;
        offsets.note(id, at);
      },
    });
  };
}

export type BodyWriter = ReturnType<typeof createBodyWriter>;
