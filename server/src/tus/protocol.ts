import { HEADERS, TUS_RESUMABLE } from '@haul/api';
import type { StorageCapabilities } from '../storage/storage.js';

/** tus versions this server speaks, most preferred first (Tus-Version). */
export const TUS_VERSIONS: readonly string[] = [TUS_RESUMABLE];

/** The one content type of upload bodies (PATCH, and POST with creation-with-upload). */
export const OFFSET_OCTET_STREAM = 'application/offset+octet-stream';

/**
 * Extensions every Haul storage supports through these handlers: both stores create, take a
 * body with creation, declare a deferred length and remove; expiry is driven by the database;
 * both write a body all-or-nothing, which checksums need (checksum.ts, Storage.writeVerified).
 */
const CORE_EXTENSIONS = [
  'creation', 'creation-with-upload', 'creation-defer-length', 'termination', 'expiration', 'checksum', 'checksum-trailer',
] as const;

/**
 * tus 1.0: "The Tus-Extension response header MUST be a comma-separated list of the extensions
 * supported by the Server." Concatenation: "If the Server supports this extension, it MUST add
 * concatenation to the Tus-Extension header." — whether it does is the storage's to say.
 */
export const tusExtensions = (capabilities: StorageCapabilities): string[] => [
  ...CORE_EXTENSIONS,
  // concatenation-unfinished: "This feature MUST be explicitly announced by the Server by adding
  // concatenation-unfinished to the Tus-Extension header." (concatenation-unfinished.ts)
  ...(capabilities.concatenation ? ['concatenation', 'concatenation-unfinished'] : []),
];

export const TUS_METHODS = ['POST', 'HEAD', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Request headers a browser tus client sends (CORS preflight: Access-Control-Allow-Headers). */
export const TUS_REQUEST_HEADERS: readonly string[] = [
  'Authorization', 'Content-Type', 'Tus-Resumable', 'Upload-Concat', 'Upload-Defer-Length', 'Upload-Length',
  'Upload-Metadata', 'Upload-Offset', HEADERS.uploadChecksum, 'X-HTTP-Method-Override', 'X-Requested-With', 'X-Forwarded-Host',
  'X-Forwarded-Proto', 'Forwarded', HEADERS.requestId,
  // The IETF resumable-upload draft at the same URL (ietf/).
  'Upload-Complete', 'Upload-Draft-Interop-Version', 'Content-Disposition',
];

/** Response headers a browser tus client must be able to read (Access-Control-Expose-Headers). */
export const TUS_RESPONSE_HEADERS: readonly string[] = [
  'Location', 'Tus-Extension', 'Tus-Max-Size', HEADERS.tusChecksumAlgorithm, 'Tus-Resumable', 'Tus-Version', 'Upload-Concat', 'Upload-Defer-Length',
  'Upload-Length', 'Upload-Metadata', 'Upload-Offset', HEADERS.uploadExpires, HEADERS.requestId, HEADERS.retryAfter,
  HEADERS.haulUpload, HEADERS.haulUploadEvents,
  // The IETF resumable-upload draft at the same URL (ietf/).
  'Upload-Complete', 'Upload-Limit', 'Accept-Patch',
];

/** How long a browser may cache a preflight answer. */
export const PREFLIGHT_MAX_AGE_SECONDS = 86_400;
