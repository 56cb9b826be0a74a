import { HEADERS } from '@haul/api';
import type { DetailedError, HttpResponse } from 'tus-js-client';
import { CHECKSUM_MISMATCH_STATUS } from './checksum-http-stack.js';
import { errorFromResponse, HaulError, isHaulError } from './errors.js';
import { HttpStatusError, RequestAbortedError, StallError } from './http-stack.js';


/** What tus-js-client reports, translated: its errors wrap ours (stalls, aborts, HTTP statuses). */
export const causeOf = (error: Error): unknown => (error as Partial<DetailedError>).causingError ?? undefined;
export const responseOf = (error: Error): HttpResponse | undefined => {
  const detailed = error as Partial<DetailedError>;
  if (detailed.originalResponse) return detailed.originalResponse;
  const cause = causeOf(error);
  return cause instanceof HttpStatusError ? cause.response : undefined;
};

/** tus-js-client's error (or anything thrown while uploading) as a HaulError. */
export function toHaulError(error: unknown): HaulError {
  if (isHaulError(error)) return error;
  if (!(error instanceof Error)) return new HaulError('NETWORK_ERROR', String(error));
  const response = responseOf(error);
  if (response?.getStatus() === CHECKSUM_MISMATCH_STATUS) {
    // Reaches the caller only once the retry policy gave up resending the chunk.
    return new HaulError(
      'CHECKSUM_MISMATCH',
      'The server received this chunk corrupted every time it was sent (460 Checksum Mismatch): something between this client and the server alters the bytes',
      { status: CHECKSUM_MISMATCH_STATUS, cause: error, retryable: false },
    );
  }
  if (response) return errorFromResponse(response.getStatus(), response.getBody() ?? '', response.getHeader(HEADERS.retryAfter));
  const cause = causeOf(error);
  if (isHaulError(cause)) return cause;
  if (cause instanceof StallError) return new HaulError('TIMEOUT', cause.message, { cause: error });
  if (cause instanceof RequestAbortedError) return new HaulError('ABORTED', 'aborted', { cause: error, retryable: false });
  if ((error as Partial<DetailedError>).originalRequest) {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    return new HaulError('NETWORK_ERROR', `${error.message}${detail}`, { cause: error });
  }
  return new HaulError('INVALID_INPUT', error.message, { cause: error, retryable: false });
}
