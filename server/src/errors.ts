import { ERROR_CODES, type ErrorCode } from '@haul/api';

export { type ErrorCode, isRetryableStatus } from '@haul/api';

/**
 * The only error type Haul throws on purpose. `status_code` and `body` make it a valid
 * @tus/server error as well, so hooks can throw it and tus answers with the same JSON.
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
