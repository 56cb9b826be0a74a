import { HaulError } from '../errors.js';
import type { FinalUploads } from '../uploads/final-upload.js';
import type { UploadRecord } from '../uploads/upload-repository.js';
import { finalConcatHeader } from './concatenation.js';
import { checkNotExpired, uploadExpiresHeader } from './expiration.js';
import type { TusResponse, TusUploadRequest } from './request-context.js';

/**
 * tus `concatenation-unfinished`: "The Client MAY send the concatenation request while the
 * partial uploads are still in progress. This feature MUST be explicitly announced by the
 * Server by adding concatenation-unfinished to the Tus-Extension header." The final upload is
 * created at once (uploads/final-upload.ts) and assembled when its last partial finishes; until
 * its bytes are assembled it exists in the database only, and this module answers for it.
 */

/** A final upload whose bytes are not in storage yet: waiting for its partials, or being assembled. */
export const isUnassembledFinal = (upload: UploadRecord): boolean =>
  upload.concatRole === 'final' && upload.status === 'assembling';

export function createUnassembledFinalHandlers({ finalUploads }: { finalUploads: Pick<FinalUploads, 'cancelWaiting' | 'partialReceived'> }) {
  return {
    /**
     * tus 1.0: "The response to a HEAD request for a final upload SHOULD NOT contain the
     * Upload-Offset header unless the concatenation has been successfully finished." Nor
     * Upload-Length: it is the sum of partials whose lengths may not all be known yet.
     */
    async head(request: TusUploadRequest): Promise<TusResponse> {
      const { upload } = request;
      checkNotExpired({ status: upload.assemblyStartedAt ? upload.status : 'uploading', expiresAt: upload.expiresAt });
      // Normally the last partial to finish starts the assembly; if that step was lost (a crash
      // right after the partial was recorded), a client asking about the final upload starts it.
      const [anyPartial] = upload.partialIds ?? [];
      if (!upload.assemblyStartedAt && anyPartial) await finalUploads.partialReceived(anyPartial);
      return {
        status: 200,
        headers: {
          'Cache-Control': 'no-store',
          'Upload-Concat': finalConcatHeader(upload.partialIds ?? []),
          // Waiting, it expires with its first partial to expire (final-upload.ts).
          ...(upload.assemblyStartedAt ? {} : uploadExpiresHeader(upload.expiresAt)),
        },
      };
    },

    /**
     * tus Termination of a final upload waiting for its partials: the partials stay (they are
     * the client's, and may be listed again). Once assembly has begun it runs to its end.
     */
    async terminate(request: TusUploadRequest): Promise<TusResponse> {
      if (!(await finalUploads.cancelWaiting(request.upload.id))) {
        throw new HaulError('UPLOAD_LOCKED', 'This final upload is being assembled; it can be deleted once it is');
      }
      return { status: 204, headers: {} };
    },
  };
}
