import { haulUploadHeaders, TUS_PATH } from '@haul/api';
import { Metadata, Upload, type Locker } from '@tus/utils';
import { userStorageKey } from '../auth/user.js';
import { HaulError } from '../errors.js';
import type { AuthorizeCreation } from '../http/create-policy.js';
import type { Storage } from '../storage/storage.js';
import { type EncryptedUploadsPolicy, isEncryptedRequest } from '../uploads/encryption.js';
import { metadataForStorage, parseUploadMetadata, validateUploadMetadata } from '../uploads/metadata.js';
import type { UploadLifecycle } from '../uploads/upload-lifecycle.js';
import { newUploadId } from '../uploads/upload-id.js';
import type { DeclaredFile } from '../uploads/declared-file.js';
import type { Quotas } from '../uploads/quota.js';
import type { UploadRepository } from '../uploads/upload-repository.js';
import type { BodyWriter } from './body-writer.js';
import type { Concatenation } from './concatenation.js';
import { uploadExpiresHeader } from './expiration.js';
import { writeOrRefuse } from './content-check.js';
import { OFFSET_OCTET_STREAM } from './protocol.js';
import { CLOSE_CONNECTION, type TusRequest, type TusResponse } from './request-context.js';
import { BodyStop } from './upload-body.js';
import { withUploadLock } from './upload-lock.js';

const CHECKSUM_REFUSALS = new Set<string>(['CHECKSUM_MISMATCH', 'INVALID_CHECKSUM']);

export interface CreationLimits {
  maxSize: number;
  maxConcurrentPerUser: number;
  expirySeconds: number;
  /** How long a request holding the upload may finish its body once another asks for the lock. */
  lockDrainMs: number;
  /** ENCRYPTED_UPLOADS: `refuse` answers 403 to an encrypted upload before anything is stored. */
  encryptedUploads: EncryptedUploadsPolicy;
}

/**
 * POST /files: tus Creation, Creation With Upload and Creation Defer Length (and, through the
 * concatenation module, final uploads). Metadata is validated and the per-user cap checked
 * before anything is stored; the row is written first (with the owner's quota checked against
 * its declared length: 413 QUOTA_EXCEEDED), then the storage, then the body.
 */
export function createCreationHandler({ limits, checkDeclared, storage, locker, repository, quotas, lifecycle, concatenation, writeBody, authorizeCreation }: {
  limits: CreationLimits;
  checkDeclared(file: DeclaredFile): void;
  storage: Pick<Storage, 'store' | 'layout' | 'remove'>;
  locker: Locker;
  repository: Pick<UploadRepository, 'countUnfinished'>;
  quotas: Pick<Quotas, 'roomFor'>;
  lifecycle: Pick<UploadLifecycle, 'created' | 'finished' | 'refused'>;
  concatenation: Concatenation;
  writeBody: BodyWriter;
  /** The application's say (scope membership, pre-create hook): asked before anything is stored. */
  authorizeCreation: AuthorizeCreation;
}) {
  return async function create(request: TusRequest): Promise<TusResponse> {
    const metadataHeader = request.header('upload-metadata');
    const raw = parseUploadMetadata(metadataHeader);
    const metadata = { fields: validateUploadMetadata(raw), raw };
    if (limits.encryptedUploads === 'refuse' && isEncryptedRequest(raw)) {
      // Refused first: neither a row nor a byte of a partial or a final upload is stored.
      throw new HaulError('ENCRYPTED_UPLOADS_REFUSED');
    }
    const concat = concatenation.parse(request.header('upload-concat'));
    if (concat?.kind === 'final') {
      await authorizeCreation({ user: request.user, metadata, uploadLength: null, concat: { kind: 'final', partialIds: concat.partialIds } });
      return concatenation.createFinal(request, concat.partialIds, metadata);
    }

    if ((await repository.countUnfinished(request.user.id)) >= limits.maxConcurrentPerUser) {
      throw new HaulError('TOO_MANY_UPLOADS', undefined, { headers: { 'Retry-After': '30' } });
    }
    // tus 1.0: "The request MUST include one of the following headers: a) Upload-Length to
    // indicate the size of an entire upload in bytes. b) Upload-Defer-Length: 1 if upload size
    // is not known at the time." (Their syntax was checked by protocol-guards.ts.)
    const lengthHeader = request.header('upload-length');
    if ((lengthHeader === undefined) === (request.header('upload-defer-length') === undefined)) {
      throw new HaulError('INVALID_UPLOAD_LENGTH', 'Send either Upload-Length or Upload-Defer-Length: 1');
    }
    const size = lengthHeader === undefined ? undefined : Number(lengthHeader);
    // tus 1.0: "If the length of the upload exceeds the maximum, which MAY be specified using the
    // Tus-Max-Size header, the Server MUST respond with the 413 Request Entity Too Large status."
    if (size !== undefined && size > limits.maxSize) {
      throw new HaulError('UPLOAD_TOO_LARGE', `Upload-Length ${size} exceeds the maximum of ${limits.maxSize} bytes`);
    }
    // What processing would refuse anyway (a type, a name, a size over its category's or the scanner's limit) is refused now.
    checkDeclared({ size, filetype: metadata.fields.filetype, filename: metadata.fields.filename });
    await authorizeCreation({
      user: request.user, metadata, uploadLength: size ?? null, concat: concat?.kind === 'partial' ? { kind: 'partial' } : undefined,
    });

    const id = newUploadId();
    const key = storage.layout.keyFor(userStorageKey(request.user.id), id);
    const expiresAt = new Date(Date.now() + limits.expirySeconds * 1000);
    await lifecycle.created({
      id, ownerId: request.user.id, storageKey: key, size, expiresAt, concatRole: concat?.kind,
      filename: metadata.fields.filename, filetype: metadata.fields.filetype, metadata: metadataForStorage(raw),
    });

    // Creation With Upload: the body is the upload's first bytes, sent like a PATCH body.
    const withBody = request.header('content-type') === OFFSET_OCTET_STREAM;
    const location = new URL(`${TUS_PATH}/${id}`, request.origin).toString();
    const stop = new BodyStop();
    let offset: number;
    try {
      offset = await withUploadLock(
        locker, key, { signal: request.signal, onReleaseRequested: () => stop.after(limits.lockDrainMs, 'lock-released') },
        async () => {
          // The stores keep metadata as tus parses it (UTF-8 text); the row keeps it losslessly.
          const upload = new Upload({ id: key, size, offset: 0, metadata: raw.size > 0 ? Metadata.parse(metadataHeader) : undefined });
          await storage.store.create(upload);
          if (!withBody) return 0;
          // A deferred length is counted by its bytes until declared: the body may fill the quota, no more.
          const quotaRoom = size === undefined ? await quotas.roomFor(request.user.id, id) : undefined;
          const declared = { filename: metadata.fields.filename ?? null, filetype: metadata.fields.filetype ?? null, partial: concat?.kind === 'partial', encrypted: isEncryptedRequest(raw) };
          return writeOrRefuse(() => writeBody(request, { id, key, offset: 0, size, quotaRoom, declared }, stop), { id, key, storage, lifecycle });
        },
      );
    } catch (error) {
      // A first chunk refused by its checksum was discarded, but the upload exists (at offset 0):
      // the answer says where, so the client can resume it instead of creating another.
      if (error instanceof HaulError && CHECKSUM_REFUSALS.has(error.code)) {
        throw new HaulError(error.code, error.message, { headers: { ...error.headers, Location: location, 'Upload-Offset': '0' } });
      }
      throw error;
    } finally {
      stop.dispose();
    }

    const finished = size === offset;
    if (finished) await lifecycle.finished(id, offset);
    return {
      status: 201,
      headers: {
        // tus 1.0: "The Server MUST set the Location header to the URL of the created resource."
        Location: location,
        ...(withBody ? { 'Upload-Offset': String(offset) } : {}),
        ...(finished ? haulUploadHeaders(id) : uploadExpiresHeader(expiresAt)),
        ...(stop.reason ? CLOSE_CONNECTION : {}),
      },
    };
  };
}
