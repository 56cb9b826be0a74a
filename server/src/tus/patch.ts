import { haulUploadHeaders } from '@haul/api';
import type { Locker } from '@tus/utils';
import { HaulError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import type { UploadLifecycle } from '../uploads/upload-lifecycle.js';
import { encryptionHeaderOf } from '../uploads/encryption.js';
import type { DeclaredFile } from '../uploads/declared-file.js';
import type { Quotas } from '../uploads/quota.js';
import type { BodyWriter } from './body-writer.js';
import { FileRefused, writeOrRefuse } from './content-check.js';
import { checkNotExpired, uploadExpiresHeader } from './expiration.js';
import { CLOSE_CONNECTION, type TusResponse, type TusUploadRequest } from './request-context.js';
import { BodyStop } from './upload-body.js';
import { withUploadLock } from './upload-lock.js';

/**
 * PATCH /files/<id>: append the body at Upload-Offset. Under the upload's lock: read the offset
 * from storage, check it, declare a deferred length, stream the body (upload-body.ts). The
 * request that writes the last byte records the upload as finished and says where it went
 * (Haul-Upload headers) — in its own response, before answering.
 */
/** What an append handler needs: tus PATCH here, the IETF draft's append (ietf/ietf-append.ts) too. */
export interface AppendHandlerDeps {
  maxSize: number;
  checkDeclared(file: DeclaredFile): void;
  /** How long this request may finish its body once another asks for the lock. */
  lockDrainMs: number;
  storage: Pick<Storage, 'store' | 'remove'>;
  locker: Locker;
  quotas: Pick<Quotas, 'roomFor'>;
  lifecycle: Pick<UploadLifecycle, 'finished' | 'lengthDeclared' | 'refused'>;
  writeBody: BodyWriter;
  /** The upload is done with (finished, or refused): cached records of it are dropped. */
  onFinished(id: string): void;
}

export function createPatchHandler({ maxSize, checkDeclared, lockDrainMs, storage, locker, quotas, lifecycle, writeBody, onFinished }: AppendHandlerDeps) {
  return async function patch(request: TusUploadRequest): Promise<TusResponse> {
    const { upload } = request;
    const key = upload.storageKey;
    // Without Upload-Offset nothing can be checked against the upload: 403, as @tus/server
    // answered (its syntax, when present, was checked by protocol-guards.ts).
    const offsetHeader = request.header('upload-offset');
    if (offsetHeader === undefined) throw new HaulError('MISSING_OFFSET');
    const claimed = Number(offsetHeader);
    checkNotExpired(upload);

    const stop = new BodyStop();
    let offset: number;
    let size: number | undefined;
    try {
      ({ offset, size } = await withUploadLock(
        locker, key, { signal: request.signal, onReleaseRequested: () => stop.after(lockDrainMs, 'lock-released') },
        async () => {
          const stored = await storage.store.getUpload(key);
          // tus 1.0: "The Upload-Offset header's value MUST be equal to the current offset of the
          // resource. … If the offsets do not match, the Server MUST respond with the 409
          // Conflict status without modifying the upload resource."
          if (stored.offset !== claimed) {
            throw new HaulError('OFFSET_MISMATCH', `Upload-Offset is ${claimed}, but the upload is at ${stored.offset}`);
          }
          const declared = await declareLength(request, stored);
          // Still deferred: the body may not take the owner past their quota (its length, once declared, is checked itself).
          const quotaRoom = declared === undefined ? await quotas.roomFor(upload.ownerId, upload.id) : undefined;
          const target = {
            id: upload.id, key, offset: stored.offset, size: declared, quotaRoom: quotaRoom === undefined ? undefined : quotaRoom - stored.offset,
            declared: { filename: upload.filename, filetype: upload.filetype, partial: upload.concatRole === 'partial', encrypted: encryptionHeaderOf(upload.metadata) !== null },
          };
          const written = await writeOrRefuse(() => writeBody(request, target, stop), { id: upload.id, key, storage, lifecycle });
          return { offset: written, size: declared };
        },
      ));
    } catch (error) {
      // Refused from its first bytes: no cached record of it may let a retry through.
      if (error instanceof FileRefused) onFinished(upload.id);
      throw error;
    } finally {
      stop.dispose();
    }

    const finished = size !== undefined && offset === size;
    if (finished) {
      await lifecycle.finished(upload.id, offset);
      onFinished(upload.id);
    }
    // tus 1.0: "The Server MUST acknowledge successful PATCH requests with the 204 No Content
    // status. It MUST include the Upload-Offset header containing the new offset."
    return {
      status: 204,
      headers: {
        'Upload-Offset': String(offset),
        ...(finished ? haulUploadHeaders(upload.id) : uploadExpiresHeader(upload.expiresAt)),
        // Ended early (lock released, client gone): what was not read stays unread.
        ...(stop.reason ? CLOSE_CONNECTION : {}),
      },
    };
  };

  /**
   * Creation Defer Length: "Once it is known the Client MUST set the Upload-Length header in the
   * next PATCH request. Once set the length MUST NOT be changed."
   */
  async function declareLength(request: TusUploadRequest, stored: { offset: number; size?: number }): Promise<number | undefined> {
    const header = request.header('upload-length');
    if (header === undefined) return stored.size;
    // The same length again is no change: a chunk refused by its checksum (460) after it declared
    // the length is resent with the same Upload-Length, and must be taken.
    if (stored.size !== undefined && stored.size === Number(header)) return stored.size;
    if (stored.size !== undefined) throw new HaulError('UPLOAD_LENGTH_ALREADY_SET', `Upload-Length is already set to ${stored.size}`);
    const size = Number(header);
    if (size < stored.offset) throw new HaulError('INVALID_UPLOAD_LENGTH', `Upload-Length ${size} is below the current offset ${stored.offset}`);
    if (size > maxSize) throw new HaulError('UPLOAD_TOO_LARGE', `Upload-Length ${size} exceeds the maximum of ${maxSize} bytes`);
    checkDeclared({ size, filetype: request.upload.filetype, filename: request.upload.filename });
    // Quota first (413 QUOTA_EXCEEDED leaves the length undeclared, so a smaller one can follow).
    await lifecycle.lengthDeclared(request.upload, size);
    await storage.store.declareUploadLength(request.upload.storageKey, size);
    return size;
  }
}
