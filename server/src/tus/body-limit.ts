import { HaulError } from '../errors.js';
import { quotaExceeded } from '../uploads/quota.js';

/** Content-Length as a number, or undefined when absent (chunked) or not a plain integer. */
export function contentLengthOf(header: string | undefined): number | undefined {
  if (header === undefined || !/^\d+$/.test(header)) return undefined;
  const value = Number(header);
  return Number.isSafeInteger(value) ? value : undefined;
}

export interface BodyLimit {
  /** Bytes the body may add. */
  limit: number;
  /** The refusal of a (chunked) body that goes past `limit`. */
  overLimit(): HaulError;
}

/**
 * How many bytes a request body may add to an upload at `offset`: up to its declared length,
 * or with a deferred length up to the server's maximum upload size and the room left in the
 * owner's quota. A Content-Length that already says the body would go further is refused
 * before a byte is read (413); a chunked body is cut off by the limiter when it passes the limit.
 */
export function bodyLimit({ offset, size, maxSize, quotaRoom, contentLength }: {
  offset: number;
  /** The upload's declared length; undefined while deferred. */
  size: number | undefined;
  maxSize: number;
  /** While deferred: how many more bytes the owner's quota allows; undefined: no quota. */
  quotaRoom?: number | undefined;
  contentLength: number | undefined;
}): BodyLimit {
  const end = size ?? maxSize;
  const room = Math.max(0, end - offset);
  const byQuota = size === undefined && quotaRoom !== undefined && quotaRoom < room;
  const allowed = byQuota ? Math.max(0, quotaRoom) : room;
  const overLimit = () =>
    byQuota
      ? quotaExceeded(contentLength ?? allowed + 1, allowed)
      : new HaulError(
          'UPLOAD_TOO_LARGE',
          size === undefined
            ? `The body would take the upload past the maximum size of ${maxSize} bytes`
            : `The body would take the upload past its Upload-Length of ${size} bytes`,
        );
  if (contentLength !== undefined && contentLength > allowed) throw overLimit();
  return { limit: contentLength ?? allowed, overLimit };
}
