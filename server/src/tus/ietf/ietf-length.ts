import { HaulError } from '../../errors.js';

/** A handler's answer on the IETF side: a status, headers, and (for completion) no body. */
export interface IetfResponse {
  status: 200 | 201 | 204;
  headers: Record<string, string>;
}

/**
 * The length a creation or append request indicates, checked against what is already known.
 * The draft: "1. If the request includes the Upload-Complete field value set to true and a
 * valid Content-Length header field, the request content is the remaining representation data.
 * The length is then the sum of the current offset and the Content-Length header field value.
 * 2. The request can include the Upload-Length header field." — "If indicators (1) and (2) are
 * both present in the same request, their indicated lengths MUST match. If multiple requests
 * include indicators, their indicated values MUST match." (400, inconsistent-upload-length.)
 * Returns the length (the known one if this request indicates none), or undefined if none is
 * known yet.
 */
export function lengthOf({ offset, complete, contentLength, uploadLength, known }: {
  offset: number;
  complete: boolean;
  contentLength: number | undefined;
  uploadLength: number | undefined;
  /** The length recorded by earlier requests, if any. */
  known?: number | undefined;
}): number | undefined {
  const indicated = [
    ...(complete && contentLength !== undefined ? [{ from: 'Upload-Complete: ?1 with Content-Length', length: offset + contentLength }] : []),
    ...(uploadLength !== undefined ? [{ from: 'Upload-Length', length: uploadLength }] : []),
    ...(known !== undefined ? [{ from: 'the length recorded earlier', length: known }] : []),
  ];
  const first = indicated[0];
  const other = indicated.find((i) => i.length !== first?.length);
  if (first && other) {
    throw new HaulError('INCONSISTENT_UPLOAD_LENGTH', `${first.from} says ${first.length} bytes, ${other.from} ${other.length}`);
  }
  if (first && first.length < offset) {
    throw new HaulError('INCONSISTENT_UPLOAD_LENGTH', `${first.from} says ${first.length} bytes, below the upload's offset of ${offset}`);
  }
  return first?.length;
}
