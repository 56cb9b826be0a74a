import type { Locker, Upload } from '@tus/utils';
import type { Storage } from '../storage/storage.js';
import { uploadMetadataHeader } from '../uploads/metadata.js';
import type { UploadLifecycle } from '../uploads/upload-lifecycle.js';
import type { Concatenation } from './concatenation.js';
import { checkNotExpired, uploadExpiresHeader } from './expiration.js';
import type { TusResponse, TusUploadRequest } from './request-context.js';
import { withUploadLock } from './upload-lock.js';

const isGone = (error: unknown) => {
  const status = (error as { status_code?: number } | null)?.status_code;
  return status === 404 || status === 410;
};

/**
 * HEAD /files/<id>: where to resume. An unfinished upload's offset comes from storage, read under
 * the upload's lock (so it does not move while read, and a stale PATCH still holding the upload
 * is asked to end). A finished upload's row knows its length; storage is read only for the
 * metadata's key order and may be gone (quarantined, or removed by processing) — the answer is
 * the same: complete, so a client whose last response was lost does not start over.
 */
export function createHeadHandler({ storage, locker, lifecycle, concatenation }: {
  storage: Pick<Storage, 'store'>;
  locker: Locker;
  lifecycle: Pick<UploadLifecycle, 'finished'>;
  concatenation: Concatenation;
}) {
  return async function head(request: TusUploadRequest): Promise<TusResponse> {
    const { upload } = request;
    checkNotExpired(upload);
    let offset: number;
    let size: number | undefined;
    let stored: Upload | undefined;
    if (upload.status === 'uploading') {
      stored = await withUploadLock(locker, upload.storageKey, { signal: request.signal }, () => storage.store.getUpload(upload.storageKey));
      ({ offset, size } = stored);
      // The response that completed this upload may have been lost with the finish not recorded
      // (a database blip, a crash right after the last byte): record it now. Idempotent.
      if (size !== undefined && offset === size) await lifecycle.finished(upload.id, size);
    } else {
      size = upload.size ?? 0;
      offset = size;
      stored = await storage.store.getUpload(upload.storageKey).catch((error: unknown) => {
        if (isGone(error)) return undefined;
        request.logger.warn('could not read a finished upload from storage; answering from its row', { err: error, uploadId: upload.id });
        return undefined;
      });
    }

    // tus 1.0: "If an upload contains additional metadata, responses to HEAD requests MUST include
    // the Upload-Metadata header and its value as specified by the Client during the creation."
    // Storage keeps the client's order of keys but values only as text (a binary value would come
    // back mangled); the row keeps every value's bytes. Keys from storage, values from the row.
    const metadata = uploadMetadataHeader(upload.metadata, stored?.metadata ? Object.keys(stored.metadata) : undefined);
    return {
      status: 200,
      headers: {
        // tus 1.0: "The Server MUST prevent the client and/or proxies from caching the response by
        // adding the Cache-Control: no-store header to the response."
        'Cache-Control': 'no-store',
        // "The Server MUST always include the Upload-Offset header in the response for a HEAD
        // request, even if the offset is 0, or the upload is already considered completed."
        'Upload-Offset': String(offset),
        // "If the size of the upload is known, the Server MUST include the Upload-Length header in
        // the response." Creation Defer Length: "As long as the length of the upload is not
        // known, the Server MUST set Upload-Defer-Length: 1 in all responses to HEAD requests."
        ...(size === undefined ? { 'Upload-Defer-Length': '1' } : { 'Upload-Length': String(size) }),
        ...(metadata ? { 'Upload-Metadata': metadata } : {}),
        ...(offset === size ? {} : uploadExpiresHeader(upload.expiresAt)),
        ...concatenation.headHeaders(upload),
      },
    };
  };
}
