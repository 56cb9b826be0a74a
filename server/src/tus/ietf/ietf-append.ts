import { haulUploadHeaders } from '@haul/api';
import { HaulError } from '../../errors.js';
import type { UploadRecord } from '../../uploads/upload-repository.js';
import { contentLengthOf } from '../body-limit.js';
import { FileRefused, writeOrRefuse } from '../content-check.js';
import { checkNotExpired } from '../expiration.js';
import { CLOSE_CONNECTION } from '../request-context.js';
import { BodyStop } from '../upload-body.js';
import { withUploadLock } from '../upload-lock.js';
import { encryptionHeaderOf } from '../../uploads/encryption.js';
import type { AppendHandlerDeps } from '../patch.js';
import type { IetfRequest } from './ietf-create.js';
import { type IetfResponse, lengthOf } from './ietf-length.js';
import { completeHeader, PARTIAL_UPLOAD, requireUploadComplete, secondsLeft, sfNonNegativeInteger, uploadLimit } from './interop.js';

export interface IetfUploadRequest extends IetfRequest {
  readonly upload: UploadRecord;
}

/** All bytes are in: the row says so (its storage may since have been moved by processing). */
const isFinished = (upload: UploadRecord) => upload.status !== 'uploading';

/**
 * Upload append (draft: "Upload Append"): PATCH with `Content-Type: application/partial-upload`,
 * Upload-Offset and Upload-Complete, under the upload's lock like a tus PATCH, through the same
 * body writer (so the same stages, limits and offset tracking). The request that completes the
 * upload records it as finished and answers with where it went (Haul-Upload headers).
 */
export function createIetfAppendHandler({ maxSize, checkDeclared, lockDrainMs, storage, locker, quotas, lifecycle, writeBody, onFinished }: AppendHandlerDeps) {
  return async function append(request: IetfUploadRequest): Promise<IetfResponse> {
    const { upload, version } = request;
    // "A client can continue the upload and append representation data by sending a PATCH
    // request with the application/partial-upload media type" (required since draft -04, so at
    // both interop versions).
    const type = request.header('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (type !== PARTIAL_UPLOAD) throw new HaulError('UNSUPPORTED_MEDIA_TYPE');
    // "The client MUST indicate the offset of the request content inside the representation
    // data by including the Upload-Offset header field."
    const claimed = sfNonNegativeInteger(request.header('upload-offset'));
    if (claimed === undefined) throw new HaulError('INVALID_HEADER', 'Upload-Offset must be a non-negative integer');
    const complete = requireUploadComplete(request.header);
    const contentLength = contentLengthOf(request.header('content-length'));
    const uploadLength = sfNonNegativeInteger(request.header('upload-length'));
    checkNotExpired(upload);

    if (isFinished(upload)) return appendToFinished(request, claimed, complete, contentLength);

    const stop = new BodyStop();
    let offset: number;
    let size: number | undefined;
    try {
      ({ offset, size } = await withUploadLock(
        locker, upload.storageKey, { signal: request.signal, onReleaseRequested: () => stop.after(lockDrainMs, 'lock-released') },
        async () => {
          const stored = await storage.store.getUpload(upload.storageKey);
          // "If the Upload-Offset request header field value does not match the current offset,
          // the server MUST reject the request with a 409 (Conflict) status code. The response
          // MUST include the correct offset in the Upload-Offset header field."
          if (stored.offset !== claimed) {
            throw new HaulError('OFFSET_MISMATCH', `Upload-Offset is ${claimed}, but the upload is at ${stored.offset}`, {
              headers: { 'Upload-Offset': String(stored.offset) },
            });
          }
          let length = lengthOf({ offset: stored.offset, complete, contentLength, uploadLength, known: stored.size });
          if (length !== undefined && stored.size === undefined) await declare(upload, length);
          // Still deferred: the body may not take the owner past their quota (as a tus PATCH).
          const quotaRoom = length === undefined ? await quotas.roomFor(upload.ownerId, upload.id) : undefined;
          // A body the content check refuses: bytes removed, upload rejected, as in tus.
          const written = await writeOrRefuse(() => writeBody(request, {
            id: upload.id, key: upload.storageKey, offset: stored.offset, size: length,
            quotaRoom: quotaRoom === undefined ? undefined : quotaRoom - stored.offset,
            declared: { filename: upload.filename, filetype: upload.filetype, partial: upload.concatRole === 'partial', encrypted: encryptionHeaderOf(upload.metadata) !== null },
          }, stop), { id: upload.id, key: upload.storageKey, storage, lifecycle });
          // A complete body of unknown length (chunked, no Upload-Length): its end is the length.
          if (complete && length === undefined && stop.reason === undefined) {
            length = written;
            await declare(upload, length);
          }
          return { offset: written, size: length };
        },
      ));
    } catch (error) {
      // Refused and removed: the cached record (tus-route's recent uploads) is stale now.
      if (error instanceof FileRefused) onFinished(upload.id);
      throw error;
    } finally {
      stop.dispose();
    }

    const finished = size !== undefined && offset === size;
    if (complete && !finished && stop.reason === undefined) {
      throw new HaulError('INCONSISTENT_UPLOAD_LENGTH', `The request completed the upload at ${offset} bytes, but its length is ${size}`);
    }
    if (finished) {
      await lifecycle.finished(upload.id, offset);
      onFinished(upload.id);
    }
    return {
      // "If the request content was fully processed, the upload is marked as complete and the
      // server SHOULD generate the response … However, the response MUST include the
      // Upload-Complete header field with a true value"; otherwise "a 2xx (Successful) response
      // with the Upload-Complete header field set to false".
      status: finished ? 200 : 204,
      headers: {
        ...completeHeader(finished),
        // Required in append responses up to draft -05 (interop 6); harmless after.
        'Upload-Offset': String(offset),
        ...(finished
          ? haulUploadHeaders(upload.id)
          : { 'Upload-Limit': uploadLimit(version, { maxSize, lifetimeSeconds: secondsLeft(upload.expiresAt) }) }),
        ...(stop.reason ? CLOSE_CONNECTION : {}),
      },
    };
  };

  /** Records a length first indicated by this request (≤ MAX_UPLOAD_SIZE, within the quota), in row and storage. */
  async function declare(upload: UploadRecord, length: number): Promise<void> {
    if (length > maxSize) throw new HaulError('UPLOAD_TOO_LARGE', `The upload's length ${length} exceeds the maximum of ${maxSize} bytes`);
    checkDeclared({ size: length, filetype: upload.filetype, filename: upload.filename });
    // Quota first (413 QUOTA_EXCEEDED leaves the length undeclared, as in tus).
    await lifecycle.lengthDeclared(upload, length);
    await storage.store.declareUploadLength(upload.storageKey, length);
  }

  /**
   * "If the upload is already complete, the server MUST NOT modify the upload resource and MUST
   * reject the request. … If the client attempted to append a non-zero length document, the
   * server MUST treat this as an inconsistent length failure." An empty append that completes
   * at the final offset is a client repeating the completion whose answer it lost (or one that
   * reached the length with Upload-Complete: ?0 — complete here, as in tus): it gets the
   * completion answer again, with nothing modified.
   */
  async function appendToFinished(request: IetfUploadRequest, claimed: number, complete: boolean, contentLength: number | undefined): Promise<IetfResponse> {
    const size = request.upload.size ?? request.upload.offset;
    if (contentLength !== 0) {
      throw new HaulError('INCONSISTENT_UPLOAD_LENGTH', `The upload is already complete at ${size} bytes; nothing can be appended`);
    }
    if (!complete || claimed !== size) throw new HaulError('UPLOAD_FINISHED');
    return { status: 200, headers: { ...completeHeader(true), 'Upload-Offset': String(size), ...haulUploadHeaders(request.upload.id) } };
  }
}
