import { HaulError } from '../errors.js';

/** Content-Length as a number, or undefined when absent (chunked) or not a plain integer. */
export function contentLengthOf(header: string | undefined): number | undefined {
  if (header === undefined || !/^\d+$/.test(header)) return undefined;
  const value = Number(header);
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * How many bytes a request body may add to an upload at `offset`: up to its declared length,
 * or with a deferred length up to the server's maximum upload size. A Content-Length that
 * already says the body would go further is refused before a byte is read (413); a chunked
 * body is cut off by the limiter when it passes the limit.
 */
export function bodyLimit({ offset, size, maxSize, contentLength }: {
  offset: number;
  /** The upload's declared length; undefined while deferred. */
  size: number | undefined;
  maxSize: number;
  contentLength: number | undefined;
}): number {
  const end = size ?? maxSize;
  const room = Math.max(0, end - offset);
  if (contentLength !== undefined && contentLength > room) {
    throw new HaulError(
      'UPLOAD_TOO_LARGE',
      size === undefined
        ? `The body would take the upload past the maximum size of ${maxSize} bytes`
        : `The body would take the upload past its Upload-Length of ${size} bytes`,
    );
  }
  return contentLength ?? room;
}
