import type { Locker } from '@tus/utils';
import type { Storage } from '../storage/storage.js';
import type { StoredContents } from '../uploads/stored-contents.js';
import type { UploadLifecycle } from '../uploads/upload-lifecycle.js';
import type { TusResponse, TusUploadRequest } from './request-context.js';
import { withUploadLock } from './upload-lock.js';

/**
 * DELETE /files/<id>: tus Termination. Taking the upload's lock asks a PATCH still writing to
 * it to end first. tus 1.0: "When receiving a DELETE request for an existing upload the Server
 * SHOULD free associated resources and MUST respond with the 204 No Content status confirming
 * that the upload was terminated. For all future requests to this URL, the Server SHOULD
 * respond with the 404 Not Found or 410 Gone status." (410: the row says `terminated`.)
 */
export function createTerminationHandler({ storage, contents, locker, lifecycle, markPurged, onTerminated }: {
  storage: Pick<Storage, 'remove'>;
  /** Deduplication: a processed file lets go of its stored copy first; shared bytes stay for the others. */
  contents: Pick<StoredContents, 'release'>;
  locker: Locker;
  lifecycle: Pick<UploadLifecycle, 'terminated'>;
  /** Its storage is gone (the expiry sweep purges `terminated` uploads whose storage is not). */
  markPurged(id: string): Promise<void>;
  onTerminated(id: string): void;
}) {
  return async function terminate(request: TusUploadRequest): Promise<TusResponse> {
    const { upload } = request;
    onTerminated(upload.id);
    // Taking the lock ends a PATCH still writing. Then `terminated` first, the bytes after:
    // recorded first, processing that finishes meanwhile finds the upload no longer `processing`
    // and records nothing — in particular it never makes these bytes the stored copy of identical
    // files (deduplication) just before they are removed. If the removal fails or the process
    // dies now, the expiry sweep purges what is left; if the record fails, nothing is removed and
    // the client's retry of the DELETE tries again. Everything the upload stored goes, previews of
    // a processed file included.
    await withUploadLock(locker, upload.storageKey, { signal: request.signal }, async () => {
      await lifecycle.terminated(upload.id);
      await contents.release(upload.id);
      await storage.remove(upload.storageKey);
    });
    await markPurged(upload.id).catch((err: unknown) => request.logger.warn('could not record the purge; the expiry sweep will', { err, uploadId: upload.id }));
    return { status: 204, headers: {} };
  };
}
