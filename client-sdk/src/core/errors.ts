import { ERROR_CODE_LIST, type ErrorCode, isRetryableStatus as isRetryableServerStatus, type UploadJson } from '@haul/api';

/**
 * Every `code` the server can answer with: @haul/api's error table, the one both the tus
 * endpoint and the JSON API answer from.
 *
 * @example
 * ```ts
 * import { SERVER_ERROR_CODES } from '@haul/client';
 * SERVER_ERROR_CODES.includes('UPLOAD_LOCKED'); // true
 * ```
 */
export const SERVER_ERROR_CODES: readonly ErrorCode[] = ERROR_CODE_LIST;

/**
 * Codes the SDK adds for what happens on the client's side of the wire or after processing.
 *
 * @example
 * ```ts
 * import { CLIENT_ERROR_CODES } from '@haul/client';
 * CLIENT_ERROR_CODES.includes('UPLOAD_INFECTED'); // true
 * ```
 */
export const CLIENT_ERROR_CODES = [
  /** No HTTP response: connection refused or reset, DNS failure, the request stalled. */
  'NETWORK_ERROR',
  /** No progress (or no answer) within `stallTimeoutMs`, or a wait ran past its `timeoutMs`. */
  'TIMEOUT',
  /** `abort()` or the AbortSignal. */
  'ABORTED',
  /** `getToken()` threw. */
  'TOKEN_UNAVAILABLE',
  /** The input cannot be uploaded (unknown type, unreadable file). */
  'INVALID_INPUT',
  /** The server answered something the SDK does not understand (failed schema validation). */
  'INVALID_RESPONSE',
  /** Processing finished with `rejected` (type not allowed, too large, bad content). */
  'UPLOAD_REJECTED',
  /** Processing finished with `infected`: the scanner found malware. */
  'UPLOAD_INFECTED',
  /** Processing finished with `failed`. */
  'PROCESSING_FAILED',
  /**
   * End-to-end encryption: a record failed authentication (tampered, reordered, truncated or
   * spliced bytes — the message names the record), the key is wrong, or the header is unusable.
   */
  'DECRYPTION_FAILED',
  /** The server sent an error code this SDK version does not know. */
  'UNKNOWN',
] as const;

/**
 * A server error code (@haul/api's ERROR_CODES) or one of the SDK's own ({@link CLIENT_ERROR_CODES}).
 *
 * @example
 * ```ts
 * import type { HaulErrorCode } from '@haul/client';
 * const code: HaulErrorCode = 'UPLOAD_LOCKED';
 * ```
 */
export type HaulErrorCode = ErrorCode | (typeof CLIENT_ERROR_CODES)[number];

const KNOWN_CODES: ReadonlySet<string> = new Set<string>([...SERVER_ERROR_CODES, ...CLIENT_ERROR_CODES]);

/**
 * Whether a request that got `status` may succeed when sent again: 5xx, 409, 423 and 429 (the
 * server's convention, @haul/api's `isRetryableStatus`), and 0 — no response at all.
 *
 * @example
 * ```ts
 * import { isRetryableStatus } from '@haul/client';
 * isRetryableStatus(503); // true
 * isRetryableStatus(403); // false
 * ```
 */
export const isRetryableStatus = (status: number): boolean => status === 0 || isRetryableServerStatus(status);

/**
 * Options of the {@link HaulError} constructor.
 *
 * @example
 * ```ts
 * import { HaulError, type HaulErrorOptions } from '@haul/client';
 * const options: HaulErrorOptions = { status: 503 };
 * new HaulError('STORAGE_UNAVAILABLE', 'try later', options);
 * ```
 */
export interface HaulErrorOptions {
  /** HTTP status; 0 when there was no response. */
  status?: number;
  /** Overrides the status-based default. */
  retryable?: boolean;
  /** The upload record, for processing outcomes (`UPLOAD_REJECTED`, `UPLOAD_INFECTED`, …). */
  upload?: UploadJson;
  /** The code exactly as the server sent it (differs from `code` only for `UNKNOWN`). */
  serverCode?: string;
  /** Seconds from a `Retry-After` header. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/**
 * The one error type the SDK rejects with. `code` is the server's code (@haul/api's ERROR_CODES) or one of
 * the SDK's own; `status` the HTTP status (0: no response); `retryable` whether trying again
 * later may help (the SDK already retried what it could before rejecting).
 *
 * @example
 * ```ts
 * import { HaulError, isHaulError } from '@haul/client';
 * try {
 *   await handle.result;
 * } catch (error) {
 *   if (isHaulError(error) && error.code === 'UPLOAD_INFECTED') alert(`Malware: ${error.upload?.reason}`);
 *   else throw error;
 * }
 * ```
 */
export class HaulError extends Error {
  readonly code: HaulErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly upload: UploadJson | undefined;
  readonly serverCode: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: HaulErrorCode, message: string, options: HaulErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HaulError';
    this.code = code;
    this.status = options.status ?? 0;
    this.retryable = options.retryable ?? (this.status === 0 ? code === 'NETWORK_ERROR' || code === 'TIMEOUT' : isRetryableStatus(this.status));
    this.upload = options.upload;
    this.serverCode = options.serverCode;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** `{ code, message, status }`, e.g. for logs and the CLI's `--json` output. */
  toJSON(): { name: string; code: HaulErrorCode; message: string; status: number; retryable: boolean } {
    return { name: this.name, code: this.code, message: this.message, status: this.status, retryable: this.retryable };
  }
}

/**
 * Narrows an unknown error to {@link HaulError}.
 *
 * @example
 * ```ts
 * import { isHaulError } from '@haul/client';
 * handle.result.catch((error) => { if (isHaulError(error) && error.retryable) retryLater(); });
 * ```
 */
export const isHaulError = (value: unknown): value is HaulError => value instanceof HaulError;

/** `Retry-After`: delta-seconds or an HTTP date → milliseconds from `now` (undefined if absent/invalid). */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** A server response → HaulError: `{ code, message }` bodies as the server sends them, else the status. */
export function errorFromResponse(status: number, body: string, retryAfter?: string | null): HaulError {
  let code: string | undefined;
  let message: string | undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null) {
      const record = parsed as { code?: unknown; message?: unknown };
      if (typeof record.code === 'string') code = record.code;
      if (typeof record.message === 'string') message = record.message;
    }
  } catch {
    // Not JSON (a proxy's error page, tus's plain-text errors): the status speaks.
  }
  const retryAfterMs = parseRetryAfter(retryAfter);
  const options: HaulErrorOptions = {
    status,
    serverCode: code,
    retryAfterSeconds: retryAfterMs === undefined ? undefined : retryAfterMs / 1000,
  };
  const text = message ?? (body.trim().slice(0, 200) || `HTTP ${status}`);
  if (code !== undefined && KNOWN_CODES.has(code)) return new HaulError(code as HaulErrorCode, text, options);
  return new HaulError(code === undefined ? fallbackCode(status) : 'UNKNOWN', text, options);
}

function fallbackCode(status: number): HaulErrorCode {
  if (status === 401) return 'AUTH_INVALID';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'OFFSET_MISMATCH';
  if (status === 410) return 'UPLOAD_GONE';
  if (status === 413) return 'UPLOAD_TOO_LARGE';
  if (status === 423) return 'UPLOAD_LOCKED';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 503) return 'STORAGE_UNAVAILABLE';
  if (status >= 500) return 'INTERNAL';
  if (status >= 400) return 'INVALID_REQUEST';
  return 'UNKNOWN';
}
