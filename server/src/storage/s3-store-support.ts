import type { Part, S3 } from '@aws-sdk/client-s3';
import type { MetadataValue } from '@tus/s3-store';

const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NoSuchUpload', 'NotFound']);
export const isS3NotFound = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && NOT_FOUND_CODES.has((error as { name?: string }).name ?? '');

/** Metadata key on `.part` objects: the upload offset their first byte belongs at. */
export const PART_START = 'tus-part-start';

/** What HaulS3Store.write knows about the write in progress, for the `.part` it may store. */
export interface WriteInProgress {
  /** Upload offset of the first byte handed to uploadParts. */
  streamStart: number;
  chunkSize: number;
  bytesSeen: number;
  wroteIncompletePart: boolean;
  /** The complete parts it stored (number and ETag): with those it started from, all there are. */
  uploaded: Part[];
}

/** Where an upload's bytes are in S3, as HaulS3Store.getUpload found them. */
export interface StoredState {
  metadata: MetadataValue;
  /** Its complete parts, 1…n without a gap. */
  parts: Part[];
  /** Its incomplete part (`.part`), if there is one; live if it continues where the parts end. */
  incomplete: { size: number; live: boolean } | undefined;
  /** The parts' bytes, and a live incomplete part's. */
  offset: number;
}

export const sumSizes = (parts: Array<{ Size?: number }>) => parts.reduce((total, part) => total + (part.Size ?? 0), 0);

/** A type the object may be served as; anything odd becomes application/octet-stream. */
const SAFE_CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i;
export const contentTypeOf = (filetype: string | null | undefined) =>
  filetype && SAFE_CONTENT_TYPE.test(filetype) ? filetype : 'application/octet-stream';

/**
 * The complete parts of a multipart upload that continue from part 1 without a gap. Parts of one
 * write are uploaded concurrently, so a crash can leave part 3 stored without part 2; counting it
 * would put the offset 8 MiB ahead of the bytes actually there, and the client's next bytes would
 * become part 4 — a corrupt file. Every part covers a fixed byte range (the incomplete-part scheme
 * keeps all but the last part at the same size), so parts after a gap are simply uploaded again.
 */
export async function contiguousParts(client: S3, bucket: string, key: string, uploadId: string): Promise<Part[]> {
  const parts: Part[] = [];
  let marker: string | undefined;
  do {
    const page = await client.listParts({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker });
    parts.push(...(page.Parts ?? []));
    marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
  } while (marker !== undefined);
  parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
  const contiguous: Part[] = [];
  for (const part of parts) {
    if (part.PartNumber !== contiguous.length + 1) break;
    contiguous.push(part);
  }
  return contiguous;
}

/** An incomplete part's size and (if recorded, PART_START) the offset it starts at; undefined if there is none. */
export async function headIncompletePart(client: S3, bucket: string, key: string): Promise<{ size: number; start: number | undefined } | undefined> {
  try {
    const head = await client.headObject({ Bucket: bucket, Key: key });
    const start = head.Metadata?.[PART_START];
    return { size: head.ContentLength ?? 0, start: start === undefined ? undefined : Number(start) };
  } catch (error) {
    if (isS3NotFound(error)) return undefined;
    throw error;
  }
}
