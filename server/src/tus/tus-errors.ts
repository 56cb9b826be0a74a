import { ERRORS } from '@tus/utils';
import { databaseUnavailable } from '../db/database-errors.js';
import { type ErrorCode, HaulError } from '../errors.js';

/**
 * Errors the @tus/utils stores and lockers throw (plain `{ status_code, body }` objects), mapped
 * onto Haul's code table so every error body looks the same.
 */
const STORE_ERROR_CODES = new Map<unknown, ErrorCode>([
  [ERRORS.FILE_NOT_FOUND, 'UPLOAD_NOT_FOUND'],
  [ERRORS.FILE_NO_LONGER_EXISTS, 'UPLOAD_GONE'],
  // A lock that cannot be had in time is transient: 423 tells clients to retry.
  [ERRORS.ERR_LOCK_TIMEOUT, 'UPLOAD_LOCKED'],
  [ERRORS.INVALID_OFFSET, 'OFFSET_MISMATCH'],
  [ERRORS.FILE_WRITE_ERROR, 'INTERNAL'],
  [ERRORS.UNKNOWN_ERROR, 'INTERNAL'],
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
 * Any failure of a tus handler as a HaulError: HaulErrors pass through, store and locker errors
 * get their codes, database and storage outages become 503 (retryable), anything else a 500
 * (logged by the app's error handler, with this error as cause).
 */
export function toHaulError(error: unknown): HaulError {
  if (error instanceof HaulError) return error;
  const code = STORE_ERROR_CODES.get(error);
  if (code) return new HaulError(code, undefined, { cause: error });
  const database = databaseUnavailable(error);
  if (database) return database;
  if (isTransientStorageError(error)) return new HaulError('STORAGE_UNAVAILABLE', undefined, { cause: error });
  return new HaulError('INTERNAL', undefined, { cause: error });
}
