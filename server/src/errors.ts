import { ERROR_CODES, type ErrorCode } from '@haul/api';

export { type ErrorCode, isRetryableStatus } from '@haul/api';

/**
 * The only error type Haul throws on purpose: a code of @haul/api's table, answered by the app's
 * one error handler (app.ts) as `{ code, message }` with the code's status, on the tus endpoint
 * and the JSON API alike.
 */
export class HaulError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    message: string = ERROR_CODES[code].message,
    options: { headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'HaulError';
    this.status = ERROR_CODES[code].status;
    this.headers = options.headers ?? {};
  }

  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }

  toJSON() {
    return { code: this.code, message: this.message };
  }
}

export const isHaulError = (value: unknown): value is HaulError => value instanceof HaulError;
