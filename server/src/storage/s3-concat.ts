import { Readable } from 'node:stream';
import type { CompletedPart, S3 } from '@aws-sdk/client-s3';
import { type PlannedPart, planParts } from './s3-part-plan.js';

const COPY_CONCURRENCY = 4;

export interface PartialObject {
  key: string;
  size: number;
}

const copySource = (bucket: string, key: string) => `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

/** The bytes of a streamed part, read range by range from the partial objects. */
function streamPieces(s3: S3, bucket: string, partials: readonly PartialObject[], part: Extract<PlannedPart, { kind: 'stream' }>) {
  return Readable.from(
    (async function* () {
      for (const piece of part.pieces) {
        const object = await s3.getObject({
          Bucket: bucket,
          Key: partials[piece.partial]!.key,
          Range: `bytes=${piece.start}-${piece.end - 1}`,
        });
        yield* object.Body as Readable;
      }
    })(),
  );
}

async function uploadPlannedPart(
  s3: S3, bucket: string, key: string, uploadId: string, partials: readonly PartialObject[], part: PlannedPart, PartNumber: number,
): Promise<CompletedPart> {
  if (part.kind === 'copy') {
    const { piece } = part;
    const result = await s3.uploadPartCopy({
      Bucket: bucket, Key: key, UploadId: uploadId, PartNumber,
      CopySource: copySource(bucket, partials[piece.partial]!.key),
      CopySourceRange: `bytes=${piece.start}-${piece.end - 1}`,
    });
    return { PartNumber, ETag: result.CopyPartResult?.ETag };
  }
  const result = await s3.uploadPart({
    Bucket: bucket, Key: key, UploadId: uploadId, PartNumber,
    Body: streamPieces(s3, bucket, partials, part),
    ContentLength: part.size,
  });
  return { PartNumber, ETag: result.ETag };
}

/**
 * Assembles `partials` (complete objects) into one new object at `key` with a multipart upload:
 * large partials are copied inside S3, small ones streamed (see s3-part-plan.ts). On failure
 * the multipart upload is aborted and the partials are untouched, so the client can retry.
 * Returns the multipart upload id (completed).
 */
export async function concatenateObjects(
  s3: S3, bucket: string, key: string, partials: readonly PartialObject[], contentType: string,
): Promise<string> {
  const { UploadId } = await s3.createMultipartUpload({ Bucket: bucket, Key: key, ContentType: contentType });
  if (!UploadId) throw new Error('S3 returned no UploadId');
  try {
    const plan = planParts(partials.map((p) => p.size));
    const completed: CompletedPart[] = [];
    if (plan.length === 0) {
      // Zero bytes in all: S3 needs one part, and the last part may be empty.
      const empty = await s3.uploadPart({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: Buffer.alloc(0), ContentLength: 0 });
      completed.push({ PartNumber: 1, ETag: empty.ETag });
    }
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && next < plan.length) {
        const index = next++;
        try {
          completed.push(await uploadPlannedPart(s3, bucket, key, UploadId, partials, plan[index]!, index + 1));
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    };
    // After one part fails, no new part is started, and the abort below waits for the parts
    // still in flight: a part that lands after AbortMultipartUpload is stored all the same
    // (S3: "you might need to abort multiple times"; Swift keeps it as a segment) but belongs to
    // no upload any listing shows, so not even the orphan sweep could ever remove it.
    const results = await Promise.allSettled(Array.from({ length: Math.min(COPY_CONCURRENCY, plan.length) }, worker));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    completed.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await s3.completeMultipartUpload({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: completed } });
    return UploadId;
  } catch (error) {
    await s3.abortMultipartUpload({ Bucket: bucket, Key: key, UploadId }).catch(() => {});
    throw error;
  }
}
