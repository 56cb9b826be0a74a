import { HaulError } from '../errors.js';
import type { UploadRecord } from '../uploads/upload-repository.js';

/**
 * tus Expiration. Only unfinished uploads expire (a finished upload's row has no expiry); the
 * sweep (uploads/expiry-job.ts) then marks them expired and removes their bytes.
 *
 * tus 1.0: "If a Client does attempt to resume an upload which has since been removed by the
 * Server, the Server SHOULD respond with the 404 Not Found or 410 Gone status. The latter one
 * SHOULD be used if the Server is keeping track of expired uploads." An upload past its expiry
 * is gone from that moment, whether or not the sweep has run yet.
 */
export function checkNotExpired(upload: Pick<UploadRecord, 'expiresAt' | 'status'>, now = Date.now()): void {
  const unfinished = upload.status === 'uploading' || upload.status === 'part_received';
  if (unfinished && upload.expiresAt !== null && upload.expiresAt.getTime() <= now) {
    throw new HaulError('UPLOAD_GONE', 'This upload expired before it was finished');
  }
}

/**
 * tus 1.0: "The Upload-Expires response header indicates the time after which the unfinished
 * upload expires. … This header MUST be included in every PATCH response if the upload is going
 * to expire. If the expiration is known at the creation, the Upload-Expires header MUST be
 * included in the response to the initial POST request." "The value of the Upload-Expires
 * header MUST be in RFC 7231 datetime format."
 */
export const uploadExpiresHeader = (expiresAt: Date | null): Record<string, string> =>
  expiresAt === null ? {} : { 'Upload-Expires': expiresAt.toUTCString() };
