import type { ServerResponse } from 'node:http';
import { haulUploadHeaders, TUS_PATH } from '@haul/api';
import { Metadata, Upload, type Locker } from '@tus/utils';
import { userStorageKey } from '../../auth/user.js';
import { HaulError } from '../../errors.js';
import type { AuthorizeCreation } from '../../http/create-policy.js';
import type { Storage } from '../../storage/storage.js';
import { isEncryptedRequest } from '../../uploads/encryption.js';
import { metadataForStorage, validateUploadMetadata } from '../../uploads/metadata.js';
import type { Quotas } from '../../uploads/quota.js';
import type { UploadLifecycle } from '../../uploads/upload-lifecycle.js';
import { newUploadId } from '../../uploads/upload-id.js';
import type { UploadRepository } from '../../uploads/upload-repository.js';
import type { DeclaredFile } from '../../uploads/declared-file.js';
import { contentLengthOf } from '../body-limit.js';
import { writeOrRefuse } from '../content-check.js';
import type { BodyWriter } from '../body-writer.js';
import type { CreationLimits } from '../create.js';
import { CLOSE_CONNECTION, type TusRequest } from '../request-context.js';
import { BodyStop } from '../upload-body.js';
import { withUploadLock } from '../upload-lock.js';
import { sendUploadResumptionSupported } from './interim-response.js';
import { completeHeader, type InteropVersion, requireUploadComplete, sfNonNegativeInteger, uploadLimit } from './interop.js';
import { type IetfResponse, lengthOf } from './ietf-length.js';
import { representationMetadata } from './representation-metadata.js';

export interface IetfRequest extends TusRequest {
  readonly version: InteropVersion;
  /** Node's response, for the 104 interim response before the final one. */
  readonly outgoing: ServerResponse;
}

/**
 * Upload creation (draft: "Upload Creation"): a POST to /files/ with Upload-Complete. The same
 * checks as a tus creation, in the same order — per-user cap, length against MAX_UPLOAD_SIZE,
 * the application's creation policy — then the row, the storage, the 104 with the upload's
 * URL, and the body. The upload is the same record a tus client would have created.
 */
export function createIetfCreationHandler({ limits, checkDeclared, storage, locker, repository, quotas, lifecycle, writeBody, authorizeCreation }: {
  limits: CreationLimits;
  /** What processing would refuse anyway, told before a byte is stored (uploads/declared-file.ts). */
  checkDeclared(file: DeclaredFile): void;
  storage: Pick<Storage, 'store' | 'layout' | 'remove'>;
  locker: Locker;
  repository: Pick<UploadRepository, 'countUnfinished'>;
  quotas: Pick<Quotas, 'roomFor'>;
  lifecycle: Pick<UploadLifecycle, 'created' | 'finished' | 'lengthDeclared' | 'refused'>;
  writeBody: BodyWriter;
  authorizeCreation: AuthorizeCreation;
}) {
  return async function create(request: IetfRequest): Promise<IetfResponse> {
    const { version } = request;
    const complete = requireUploadComplete(request.header);
    const contentLength = contentLengthOf(request.header('content-length'));
    // "If indicators (1) and (2) are both present in the same request, their indicated lengths MUST match."
    const size = lengthOf({ offset: 0, complete, contentLength, uploadLength: sfNonNegativeInteger(request.header('upload-length')) });
    const metadata = representationMetadata(request.header);
    const fields = validateUploadMetadata(metadata.raw);
    if (limits.encryptedUploads === 'refuse' && isEncryptedRequest(metadata.raw)) throw new HaulError('ENCRYPTED_UPLOADS_REFUSED');

    if ((await repository.countUnfinished(request.user.id)) >= limits.maxConcurrentPerUser) {
      throw new HaulError('TOO_MANY_UPLOADS', undefined, { headers: { 'Retry-After': '30' } });
    }
    // Upload-Limit max-size: "The server might not create an upload resource if the length
    // deduced from the upload creation request is larger than the maximum size."
    if (size !== undefined && size > limits.maxSize) {
      throw new HaulError('UPLOAD_TOO_LARGE', `The upload's length ${size} exceeds the maximum of ${limits.maxSize} bytes`);
    }
    checkDeclared({ size, filetype: fields.filetype, filename: fields.filename });
    await authorizeCreation({ user: request.user, metadata: { fields, raw: metadata.raw }, uploadLength: size ?? null, concat: undefined });

    const id = newUploadId();
    const key = storage.layout.keyFor(userStorageKey(request.user.id), id);
    const expiresAt = new Date(Date.now() + limits.expirySeconds * 1000);
    await lifecycle.created({
      id, ownerId: request.user.id, storageKey: key, size, expiresAt,
      filename: fields.filename, filetype: fields.filetype, metadata: metadataForStorage(metadata.raw),
    });
    const location = new URL(`${TUS_PATH}/${id}`, request.origin).toString();
    const limit = uploadLimit(version, { maxSize: limits.maxSize, lifetimeSeconds: limits.expirySeconds });

    const stop = new BodyStop();
    let offset: number;
    let length = size;
    try {
      offset = await withUploadLock(
        locker, key, { signal: request.signal, onReleaseRequested: () => stop.after(limits.lockDrainMs, 'lock-released') },
        async () => {
          await storage.store.create(new Upload({ id: key, size, offset: 0, metadata: metadata.header ? Metadata.parse(metadata.header) : undefined }));
          // The upload exists: from here on a client cut off mid-body can resume it.
          sendUploadResumptionSupported(request.incoming, request.outgoing, {
            Location: location, 'Upload-Draft-Interop-Version': String(version), 'Upload-Limit': limit,
          });
          // A deferred length is counted by its bytes until declared: the body may fill the quota, no more.
          const quotaRoom = size === undefined ? await quotas.roomFor(request.user.id, id) : undefined;
          // A body whose first bytes the content check refuses is removed and the upload rejected, as in tus.
          const written = await writeOrRefuse(() => writeBody(request, {
            id, key, offset: 0, size, quotaRoom, declared: { filename: fields.filename ?? null, filetype: fields.filetype ?? null, partial: false, encrypted: isEncryptedRequest(metadata.raw) },
          }, stop), { id, key, storage, lifecycle });
          // A complete body of unknown length (chunked, no Upload-Length): its end is the length.
          if (complete && size === undefined && stop.reason === undefined) {
            checkDeclared({ size: written, filetype: fields.filetype, filename: fields.filename });
            await lifecycle.lengthDeclared({ id, ownerId: request.user.id }, written);
            await storage.store.declareUploadLength(key, written);
            length = written;
          }
          return written;
        },
      );
    } finally {
      stop.dispose();
    }

    // "An upload is marked as completed if a request for creating the upload resource … included
    // the Upload-Complete header field with a true value and the request content was fully
    // processed." A body cut short leaves it incomplete, with every byte that arrived kept. (An
    // upload whose known length is reached is complete, as in tus: it is one record either way.)
    const finished = length !== undefined && offset === length;
    if (complete && !finished && stop.reason === undefined) {
      throw new HaulError('INCONSISTENT_UPLOAD_LENGTH', `The request completed the upload at ${offset} bytes, but its length is ${length}`);
    }
    if (finished) await lifecycle.finished(id, offset);
    return {
      // "If the Upload-Complete header field is set to false … Servers are RECOMMENDED to use the
      // 201 (Created) status code." A completed upload was created too: 201 either way.
      status: 201,
      headers: {
        // "…the server MUST include the Location response header field pointing to the upload
        // resource and MUST include the Upload-Limit header field"
        Location: location,
        'Upload-Limit': limit,
        'Upload-Offset': String(offset),
        ...completeHeader(finished),
        ...(finished ? haulUploadHeaders(id) : {}),
        ...(stop.reason ? CLOSE_CONNECTION : {}),
      },
    };
  };
}
