import { ERRORS } from '@tus/utils';
import { type ErrorCode, HaulError } from '../errors.js';
import type { Logger } from '../logger.js';

/** @tus/server's own errors, mapped onto Haul's code table so every error body looks the same. */
const TUS_ERROR_CODES = new Map<string, ErrorCode>([
  [ERRORS.MISSING_OFFSET.body, 'MISSING_OFFSET'],
  [ERRORS.ABORTED.body, 'CLIENT_ABORTED'],
  [ERRORS.INVALID_TERMINATION.body, 'UPLOAD_FINISHED'],
  [ERRORS.ERR_LOCK_TIMEOUT.body, 'UPLOAD_LOCKED'],
  [ERRORS.INVALID_CONTENT_TYPE.body, 'INVALID_CONTENT_TYPE'],
  [ERRORS.FILE_NOT_FOUND.body, 'UPLOAD_NOT_FOUND'],
  [ERRORS.INVALID_OFFSET.body, 'OFFSET_MISMATCH'],
  [ERRORS.FILE_NO_LONGER_EXISTS.body, 'UPLOAD_GONE'],
  [ERRORS.ERR_SIZE_EXCEEDED.body, 'UPLOAD_TOO_LARGE'],
  [ERRORS.ERR_MAX_SIZE_EXCEEDED.body, 'UPLOAD_TOO_LARGE'],
  [ERRORS.INVALID_LENGTH.body, 'INVALID_UPLOAD_LENGTH'],
  [ERRORS.INVALID_METADATA.body, 'INVALID_METADATA'],
  [ERRORS.UNSUPPORTED_CONCATENATION_EXTENSION.body, 'UNSUPPORTED_EXTENSION'],
  [ERRORS.UNSUPPORTED_CREATION_DEFER_LENGTH_EXTENSION.body, 'UNSUPPORTED_EXTENSION'],
  [ERRORS.UNSUPPORTED_EXPIRATION_EXTENSION.body, 'UNSUPPORTED_EXTENSION'],
  [ERRORS.FILE_WRITE_ERROR.body, 'INTERNAL'],
  [ERRORS.UNKNOWN_ERROR.body, 'INTERNAL'],
]);

const TRANSIENT_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** An S3/network failure that will likely pass: the client should retry, not give up. */
export function isTransientStorageError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: string; name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown; cause?: unknown };
  if (e.code && TRANSIENT_NETWORK_CODES.has(e.code)) return true;
  if (e.name === 'TimeoutError' || e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  // The SDK reports a refused connection with the socket error as cause.
  return e.cause !== undefined && e.cause !== error && isTransientStorageError(e.cause);
}

/**
 * onResponseError for @tus/server: a HaulError passes through, tus errors get Haul codes,
 * storage outages become 503 (retryable), anything else a logged 500.
 */
export function toTusError(error: unknown, logger: Logger): { status_code: number; body: string } {
  if (error instanceof HaulError) return error;
  const tusError = error as { status_code?: number; body?: string };
  if (typeof tusError.status_code === 'number' && typeof tusError.body === 'string') {
    const code = TUS_ERROR_CODES.get(tusError.body);
    if (code) {
      const haul = new HaulError(code);
      // Keep tus's status where it differs from ours (e.g. lock timeout 500), so clients behave as before.
      return { status_code: tusError.status_code === 500 ? haul.status : tusError.status_code, body: haul.body };
    }
    return { status_code: tusError.status_code, body: JSON.stringify({ code: 'INVALID_REQUEST', message: tusError.body.trim() }) };
  }
  if (isTransientStorageError(error)) {
    logger.warn('storage unavailable', { err: error });
    return new HaulError('STORAGE_UNAVAILABLE');
  }
  logger.error('unexpected error in tus handler', { err: error });
  return new HaulError('INTERNAL');
}
