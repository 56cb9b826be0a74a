/**
 * The one table of error codes. Both tus responses and JSON API responses come from it (body
 * `{ "code", "message" }`), so a client can branch on `code` whatever route it called.
 *
 * `retryable` follows the tus convention that clients retry 5xx, 409 and 423 (transient) and
 * give up on other 4xx (the request itself is wrong); 429 is retried after `Retry-After`. 501
 * (Not Implemented) is the one 5xx that no retry can change.
 */
export const ERROR_CODES = {
  AUTH_REQUIRED: { status: 401, retryable: false, message: 'Authentication required: send Authorization: Bearer <token>' },
  AUTH_INVALID: { status: 401, retryable: false, message: 'The bearer token is invalid or expired' },
  FORBIDDEN: { status: 403, retryable: false, message: 'Not allowed' },
  SCOPE_FORBIDDEN: { status: 403, retryable: false, message: 'You are not a member of this scope' },
  ENCRYPTED_UPLOADS_REFUSED: { status: 403, retryable: false, message: 'This server does not accept end-to-end encrypted uploads (ENCRYPTED_UPLOADS=refuse)' },
  UPLOAD_REFUSED: { status: 403, retryable: false, message: 'The application refused this upload' },
  HOOK_UNAVAILABLE: { status: 503, retryable: true, message: 'The application did not answer an access check; retry shortly' },
  UPLOAD_NOT_FOUND: { status: 404, retryable: false, message: 'Upload not found' },
  UPLOAD_GONE: { status: 410, retryable: false, message: 'Upload expired or was terminated' },
  NOT_FOUND: { status: 404, retryable: false, message: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false, message: 'Method not allowed' },
  INVALID_REQUEST: { status: 400, retryable: false, message: 'Invalid request' },
  INVALID_HEADER: { status: 400, retryable: false, message: 'Invalid tus header' },
  INVALID_METADATA: { status: 400, retryable: false, message: 'Invalid Upload-Metadata' },
  INVALID_FILENAME: { status: 400, retryable: false, message: 'Invalid filename' },
  INVALID_UPLOAD_LENGTH: { status: 400, retryable: false, message: 'Invalid Upload-Length' },
  INVALID_CONTENT_TYPE: { status: 403, retryable: false, message: 'PATCH requests must use Content-Type: application/offset+octet-stream' },
  MISSING_OFFSET: { status: 403, retryable: false, message: 'Upload-Offset header required' },
  // tus checksum extension: 460 is the status the extension defines for a digest that does not
  // match; the chunk is discarded. Not retryable by the tus convention (a 4xx), but a client that
  // still has the chunk resends it a bounded number of times (the SDK's retry policy does).
  CHECKSUM_MISMATCH: { status: 460, retryable: false, message: 'The chunk does not match its Upload-Checksum; it was discarded, resend it' },
  CHECKSUM_ALGORITHM_UNSUPPORTED: { status: 400, retryable: false, message: 'Upload-Checksum names an algorithm this server does not support (see Tus-Checksum-Algorithm)' },
  INVALID_CHECKSUM: { status: 400, retryable: false, message: 'Upload-Checksum must be "<algorithm> <base64 digest>"' },
  OFFSET_MISMATCH: { status: 409, retryable: true, message: 'Upload-Offset does not match the current offset' },
  UPLOAD_LOCKED: { status: 423, retryable: true, message: 'Another request is writing to this upload; retry shortly' },
  UPLOAD_TOO_LARGE: { status: 413, retryable: false, message: 'Upload exceeds the maximum size' },
  FILE_NOT_ACCEPTED: { status: 415, retryable: false, message: 'This file is not accepted here' },
  QUOTA_EXCEEDED: { status: 413, retryable: false, message: 'Your storage quota is used up; delete files to make room' },
  UPLOAD_LENGTH_ALREADY_SET: { status: 400, retryable: false, message: 'Upload-Length is already set' },
  UPLOAD_FINISHED: { status: 400, retryable: false, message: 'Upload is already complete' },
  UNSUPPORTED_VERSION: { status: 412, retryable: false, message: 'Unsupported Tus-Resumable version' },
  UNSUPPORTED_INTEROP_VERSION: { status: 400, retryable: false, message: 'Unsupported Upload-Draft-Interop-Version: this server speaks 6 and 8' },
  INCONSISTENT_UPLOAD_LENGTH: { status: 400, retryable: false, message: 'Inconsistent length values for the upload' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, message: 'Appending to an upload takes Content-Type: application/partial-upload' },
  UNSUPPORTED_EXTENSION: { status: 501, retryable: false, message: 'This tus extension is not supported' },
  INVALID_CONCAT: { status: 400, retryable: false, message: 'Invalid Upload-Concat header' },
  PARTIAL_NOT_USABLE: { status: 400, retryable: false, message: 'A listed partial upload cannot be concatenated' },
  TOO_MANY_PARTIALS: { status: 400, retryable: false, message: 'Too many partial uploads in one final upload' },
  FINAL_UPLOAD_READ_ONLY: { status: 403, retryable: false, message: 'A final upload is assembled from its partials; it takes no PATCH' },
  UPLOAD_NOT_READY: { status: 409, retryable: true, message: 'The upload is not ready yet' },
  UPLOAD_NOT_DOWNLOADABLE: { status: 403, retryable: false, message: 'This upload cannot be downloaded' },
  RANGE_NOT_SATISFIABLE: { status: 416, retryable: false, message: 'Range not satisfiable' },
  LINK_INVALID: { status: 403, retryable: false, message: 'This link is not valid' },
  LINK_EXPIRED: { status: 410, retryable: false, message: 'This link has expired' },
  RATE_LIMITED: { status: 429, retryable: true, message: 'Too many requests; slow down' },
  TOO_MANY_UPLOADS: { status: 429, retryable: true, message: 'Too many unfinished uploads; finish or terminate some first' },
  TOO_MANY_UPLOAD_REQUESTS: { status: 429, retryable: true, message: 'Too many upload requests at once from this account; retry when some have finished' },
  DEV_AUTH_DISABLED: { status: 404, retryable: false, message: 'Development tokens are only issued with AUTH_MODE=dev' },
  CLIENT_ABORTED: { status: 400, retryable: false, message: 'Request aborted by the client' },
  STORAGE_UNAVAILABLE: { status: 503, retryable: true, message: 'Storage is unavailable; retry shortly' },
  DATABASE_UNAVAILABLE: { status: 503, retryable: true, message: 'Database is unavailable; retry shortly' },
  SHUTTING_DOWN: { status: 503, retryable: true, message: 'Server is restarting; retry shortly' },
  INTERNAL: { status: 500, retryable: true, message: 'Internal server error' },
} as const satisfies Record<string, { status: number; retryable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

export const isErrorCode = (value: unknown): value is ErrorCode => typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);

/**
 * For a response without a known code (a proxy's 502, a gateway timeout): whether its status
 * alone says "try again". The same convention as the table's `retryable`: 5xx but 501, 409, 423, 429.
 */
export const isRetryableStatus = (status: number): boolean =>
  (status >= 500 && status !== 501) || status === 409 || status === 423 || status === 429;

/** The JSON body of every error response. */
export interface ErrorBody {
  code: string;
  message: string;
}
