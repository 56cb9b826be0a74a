/**
 * The one table of error codes. Both tus responses and JSON API responses come from it, so a
 * client can branch on `code` whatever route it called. Statuses follow the tus convention that
 * clients retry 5xx, 409 and 423 (transient) and give up on other 4xx (the request itself is wrong).
 */
export const ERROR_TABLE = {
  AUTH_REQUIRED: { status: 401, message: 'Authentication required: send Authorization: Bearer <token>' },
  AUTH_INVALID: { status: 401, message: 'The bearer token is invalid or expired' },
  FORBIDDEN: { status: 403, message: 'Not allowed' },
  UPLOAD_NOT_FOUND: { status: 404, message: 'Upload not found' },
  UPLOAD_GONE: { status: 410, message: 'Upload expired or was terminated' },
  NOT_FOUND: { status: 404, message: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed' },
  INVALID_REQUEST: { status: 400, message: 'Invalid request' },
  INVALID_HEADER: { status: 400, message: 'Invalid tus header' },
  INVALID_METADATA: { status: 400, message: 'Invalid Upload-Metadata' },
  INVALID_FILENAME: { status: 400, message: 'Invalid filename' },
  INVALID_UPLOAD_LENGTH: { status: 400, message: 'Invalid Upload-Length' },
  INVALID_CONTENT_TYPE: { status: 403, message: 'PATCH requests must use Content-Type: application/offset+octet-stream' },
  MISSING_OFFSET: { status: 403, message: 'Upload-Offset header required' },
  OFFSET_MISMATCH: { status: 409, message: 'Upload-Offset does not match the current offset' },
  UPLOAD_LOCKED: { status: 423, message: 'Another request is writing to this upload; retry shortly' },
  UPLOAD_TOO_LARGE: { status: 413, message: 'Upload exceeds the maximum size' },
  UPLOAD_LENGTH_ALREADY_SET: { status: 400, message: 'Upload-Length is already set' },
  UPLOAD_FINISHED: { status: 400, message: 'Upload is already complete' },
  UNSUPPORTED_VERSION: { status: 412, message: 'Unsupported Tus-Resumable version' },
  UNSUPPORTED_EXTENSION: { status: 501, message: 'This tus extension is not supported' },
  INVALID_CONCAT: { status: 400, message: 'Invalid Upload-Concat header' },
  PARTIAL_NOT_USABLE: { status: 400, message: 'A listed partial upload cannot be concatenated' },
  TOO_MANY_PARTIALS: { status: 400, message: 'Too many partial uploads in one final upload' },
  FINAL_UPLOAD_READ_ONLY: { status: 403, message: 'A final upload is assembled from its partials; it takes no PATCH' },
  UPLOAD_NOT_READY: { status: 409, message: 'The upload is not ready yet' },
  UPLOAD_NOT_DOWNLOADABLE: { status: 403, message: 'This upload cannot be downloaded' },
  RANGE_NOT_SATISFIABLE: { status: 416, message: 'Range not satisfiable' },
  LINK_INVALID: { status: 403, message: 'This link is not valid' },
  LINK_EXPIRED: { status: 410, message: 'This link has expired' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; slow down' },
  TOO_MANY_UPLOADS: { status: 429, message: 'Too many unfinished uploads; finish or terminate some first' },
  DEV_AUTH_DISABLED: { status: 404, message: 'Development tokens are only issued with AUTH_MODE=dev' },
  CLIENT_ABORTED: { status: 400, message: 'Request aborted by the client' },
  STORAGE_UNAVAILABLE: { status: 503, message: 'Storage is unavailable; retry shortly' },
  DATABASE_UNAVAILABLE: { status: 503, message: 'Database is unavailable; retry shortly' },
  SHUTTING_DOWN: { status: 503, message: 'Server is restarting; retry shortly' },
  INTERNAL: { status: 500, message: 'Internal server error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export const isRetryableStatus = (status: number) => status >= 500 || status === 409 || status === 423 || status === 429;

/**
 * The only error type Haul throws on purpose. `status_code` and `body` make it a valid
 * @tus/server error as well, so hooks can throw it and tus answers with the same JSON.
 */
export class HaulError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    message: string = ERROR_TABLE[code].message,
    options: { headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'HaulError';
    this.status = ERROR_TABLE[code].status;
    this.headers = options.headers ?? {};
  }

  get retryable(): boolean {
    return isRetryableStatus(this.status);
  }

  get status_code(): number {
    return this.status;
  }

  get body(): string {
    return JSON.stringify(this.toJSON());
  }

  toJSON() {
    return { code: this.code, message: this.message };
  }
}

export const isHaulError = (value: unknown): value is HaulError => value instanceof HaulError;
