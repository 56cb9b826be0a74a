import type { S3 } from '@aws-sdk/client-s3';
import { isS3NotFound } from './s3-store-support.js';

/**
 * Keys of multipart uploads under `prefix` started before `before`: candidates for the orphan
 * sweep. Listing is scoped to our prefix, so nothing else in a shared bucket is ever touched.
 */
export async function* listMultipartUploadsBefore(
  s3: S3, bucket: string, prefix: string, before: Date,
): AsyncGenerator<{ key: string; uploadId: string }> {
  let KeyMarker: string | undefined;
  let UploadIdMarker: string | undefined;
  for (;;) {
    const page = await s3.listMultipartUploads({ Bucket: bucket, Prefix: prefix, KeyMarker, UploadIdMarker });
    for (const upload of page.Uploads ?? []) {
      if (upload.Key && upload.UploadId && upload.Initiated && upload.Initiated < before) {
        yield { key: upload.Key, uploadId: upload.UploadId };
      }
    }
    if (!page.IsTruncated) return;
    KeyMarker = page.NextKeyMarker;
    UploadIdMarker = page.NextUploadIdMarker;
  }
}

/** Aborts one multipart upload and deletes the objects tus keeps beside it (`.info`, `.part`). */
export async function removeAbandoned(s3: S3, bucket: string, key: string, uploadId: string): Promise<void> {
  await s3.abortMultipartUpload({ Bucket: bucket, Key: key, UploadId: uploadId }).catch((error: unknown) => {
    if (!isS3NotFound(error)) throw error;
  });
  await s3.deleteObjects({
    Bucket: bucket,
    Delete: { Objects: [{ Key: `${key}.info` }, { Key: `${key}.part` }], Quiet: true },
  });
}
