import type { DataStore } from '@tus/utils';
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
  /** Its declared name and type, and whether it is a partial upload (for stages that check content). */
  declared: { filename: string | null; filetype: string | null; partial: boolean };
}

/**
 * Writes a request's body to an upload — shared by PATCH and creation-with-upload. Offsets
 * reach the offset tracker from here only, as the bytes pass (one `note` per chunk, batched
 * into the database by the tracker).
 */
export function createBodyWriter({ store, offsets, maxSize, stages }: {
  store: DataStore;
  offsets: Pick<OffsetTracker, 'note'>;
  maxSize: number;
  stages: readonly BodyStage[];
}) {
  return function writeBody(request: TusRequest, target: BodyTarget, stop: BodyStop): Promise<number> {
    const { id, key, offset, size, quotaRoom, declared } = target;
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
      context: { uploadId: id, offset, size, upload: declared, header: (name) => request.header(name) },
      onProgress: (at) => offsets.note(id, at),
    });
  };
}

export type BodyWriter = ReturnType<typeof createBodyWriter>;
