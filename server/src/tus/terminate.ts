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
export function createTerminationHandler({ storage, contents, locker, lifecycle, onTerminated }: {
  storage: Pick<Storage, 'remove'>;
  /** Deduplication: a processed file lets go of its stored copy first; shared bytes stay for the others. */
  contents: Pick<StoredContents, 'release'>;
  locker: Locker;
  lifecycle: Pick<UploadLifecycle, 'terminated'>;
  onTerminated(id: string): void;
}) {
  return async function terminate(request: TusUploadRequest): Promise<TusResponse> {
    const { upload } = request;
    onTerminated(upload.id);
    // Everything the upload stored goes, previews of a processed file included.
    await withUploadLock(locker, upload.storageKey, { signal: request.signal }, async () => {
      await contents.release(upload.id);
      await storage.remove(upload.storageKey);
    });
    await lifecycle.terminated(upload.id).catch((err: unknown) => {
      // The bytes are gone; the row stays as it was (an unfinished one is expired by the sweep).
      request.logger.error('could not record termination', { err, uploadId: upload.id });
    });
    // Processing may have finished it (and made it a reference) between the release and the
    // change to terminated: let go of that too.
    await contents.release(upload.id).catch((err: unknown) => request.logger.error('could not release a terminated upload\'s content', { err, uploadId: upload.id }));
    return { status: 204, headers: {} };
  };
}
