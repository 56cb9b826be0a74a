import { haulUploadHeaders, TUS_PATH } from '@haul/api';
import { HaulError } from '../errors.js';
import type { StorageCapabilities } from '../storage/storage.js';
import type { FinalUploads } from '../uploads/final-upload.js';
import type { RawMetadata, UploadMetadata } from '../uploads/metadata.js';
import { isUploadId } from '../uploads/upload-id.js';
import type { UploadRecord } from '../uploads/upload-repository.js';
import { uploadExpiresHeader } from './expiration.js';
import type { TusRequest, TusResponse } from './request-context.js';

/**
 * tus Concatenation, all of it: parsing Upload-Concat, creating a final upload (assembled by
 * uploads/final-upload.ts), what partial and final uploads allow, and their HEAD header. A
 * partial upload is created and written like any other; only its role is recorded.
 */

export type UploadConcat = { kind: 'partial' } | { kind: 'final'; partialIds: string[] };

/**
 * Parses Upload-Concat. tus 1.0: "If the Upload-Concat header is present, its value MUST be
 * either `partial` or `final;{urls}` … The urls MUST be separated by a space character and MAY
 * be either absolute or relative URLs." Each URL must name an upload on this endpoint.
 */
export function parseUploadConcat(header: string | undefined, { maxPartials }: { maxPartials: number }): UploadConcat | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === 'partial') return { kind: 'partial' };
  if (!value.startsWith('final;')) throw new HaulError('INVALID_CONCAT', 'Upload-Concat must be "partial" or "final;<url> <url> …"');
  const urls = value.slice('final;'.length).trim().split(/ +/).filter(Boolean);
  if (urls.length === 0) throw new HaulError('INVALID_CONCAT', 'Upload-Concat: final lists no partial uploads');
  if (urls.length > maxPartials) {
    throw new HaulError('TOO_MANY_PARTIALS', `A final upload may list at most ${maxPartials} partial uploads`);
  }
  return { kind: 'final', partialIds: urls.map(uploadIdFromUrl) };
}

function uploadIdFromUrl(url: string): string {
  let pathname: string;
  try {
    pathname = new URL(url, 'http://relative.invalid').pathname;
  } catch {
    throw new HaulError('INVALID_CONCAT', `Upload-Concat: "${url.slice(0, 100)}" is not a URL`);
  }
  const match = new RegExp(`^${TUS_PATH}/([^/]+)/?$`).exec(pathname);
  if (!match || !isUploadId(match[1]!)) {
    throw new HaulError('INVALID_CONCAT', `Upload-Concat: "${url.slice(0, 100)}" is not an upload URL of this server`);
  }
  return match[1]!;
}

/** The HEAD value for a final upload: its partials as relative URLs. */
export const finalConcatHeader = (partialIds: readonly string[]) =>
  `final;${partialIds.map((id) => `${TUS_PATH}/${id}`).join(' ')}`;

export function createConcatenation({ capabilities, maxPartials, finalUploads }: {
  capabilities: StorageCapabilities;
  maxPartials: number;
  finalUploads: FinalUploads;
}) {
  return {
    /** The Upload-Concat of a creation request; 501 if the storage cannot concatenate. */
    parse(header: string | undefined): UploadConcat | undefined {
      if (header !== undefined && !capabilities.concatenation) {
        throw new HaulError('UNSUPPORTED_EXTENSION', 'This server does not support tus Concatenation');
      }
      return parseUploadConcat(header, { maxPartials });
    },

    /** POST with Upload-Concat: final;… — the final upload is assembled before the answer. */
    async createFinal(
      request: TusRequest,
      partialIds: readonly string[],
      metadata: { fields: UploadMetadata; raw: RawMetadata },
    ): Promise<TusResponse> {
      // tus 1.0: "The Client MUST NOT include the Upload-Length header in the final upload creation."
      if (request.header('upload-length') !== undefined || request.header('upload-defer-length') !== undefined) {
        throw new HaulError('INVALID_CONCAT', 'A final upload takes no Upload-Length: it is the sum of its partials');
      }
      const final = await finalUploads.create({
        user: request.user, partialIds, metadataHeader: request.header('upload-metadata'), metadata, allowUnfinished: true,
      });
      return {
        status: 201,
        headers: {
          Location: new URL(`${TUS_PATH}/${final.id}`, request.origin).toString(),
          // Assembled on creation, this is the only response that could say where it went. Waiting
          // for partials (concatenation-unfinished), it says when it expires; the files API's
          // record is at the same Haul-Upload URL once the last partial's response arrives.
          ...(final.waiting ? uploadExpiresHeader(final.expiresAt) : haulUploadHeaders(final.id)),
        },
      };
    },

    /** What a partial or final upload does not allow, checked before any handler touches it. */
    checkAccess(upload: UploadRecord, method: string): void {
      // tus 1.0: "The Server MUST respond with the 403 Forbidden status to PATCH requests against
      // a final upload URL and MUST NOT modify the final or its partial uploads."
      if (upload.concatRole === 'final' && method === 'PATCH') throw new HaulError('FINAL_UPLOAD_READ_ONLY');
      // Until a final upload is assembled only HEAD and DELETE reach it (concatenation-unfinished.ts).
      if (upload.status === 'assembling' && method !== 'HEAD' && method !== 'DELETE') {
        throw new HaulError('UPLOAD_LOCKED', 'This final upload is still being assembled');
      }
    },

    /**
     * Upload-Concat on HEAD, for partials and finals alike. tus 1.0: "The response to a HEAD
     * request for a final upload SHOULD NOT contain the Upload-Offset header unless the
     * concatenation has been successfully finished." A final upload HEAD can see is assembled.
     */
    headHeaders(upload: UploadRecord): Record<string, string> {
      if (upload.concatRole === 'partial') return { 'Upload-Concat': 'partial' };
      if (upload.concatRole === 'final') return { 'Upload-Concat': finalConcatHeader(upload.partialIds ?? []) };
      return {};
    },
  };
}

export type Concatenation = ReturnType<typeof createConcatenation>;
