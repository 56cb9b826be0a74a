import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { S3 } from '@aws-sdk/client-s3';
import type { S3Settings } from './services.js';

/**
 * S3 housekeeping for benchmarks: every run writes under its own key prefix and removes
 * everything under it (objects, open multipart uploads, and on Swift the segments of multipart
 * objects) when it is done.
 */

/** A fresh key prefix such as `bench-ingest-s3-lx3k2a-9f2c/`. */
export const uniquePrefix = (name: string) => `bench-${name}-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}/`;

/** An S3 client for `settings`, without the checksums Swift/MinIO/R2 refuse. */
export function createS3(settings: S3Settings): S3 {
  // The SDK's "Node 22 will be required in 2027" notice, once per process: noise in bench output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3({
    region: settings.S3_REGION,
    endpoint: settings.S3_ENDPOINT,
    forcePathStyle: settings.S3_FORCE_PATH_STYLE !== 'false',
    credentials: { accessKeyId: settings.S3_ACCESS_KEY_ID, secretAccessKey: settings.S3_SECRET_ACCESS_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Every object under `prefix`. */
export async function listObjects(s3: S3, bucket: string, prefix: string): Promise<Array<{ key: string; size: number }>> {
  const objects: Array<{ key: string; size: number }> = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await s3.listObjectsV2({ Bucket: bucket, Prefix: prefix, ContinuationToken });
    for (const o of page.Contents ?? []) if (o.Key) objects.push({ key: o.Key, size: o.Size ?? 0 });
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return objects;
}

/** The sizes of the data objects under `prefix` (tus `.info` and incomplete `.part` objects left out). */
export async function dataObjectSizes(s3: S3, bucket: string, prefix: string): Promise<number[]> {
  return (await listObjects(s3, bucket, prefix)).filter((o) => !o.key.endsWith('.info') && !o.key.endsWith('.part')).map((o) => o.size);
}

/** SHA-256 (base64) of an object's bytes, streamed. */
export async function objectSha256(s3: S3, bucket: string, key: string): Promise<string> {
  const object = await s3.getObject({ Bucket: bucket, Key: key });
  const hash = createHash('sha256');
  for await (const chunk of object.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest('base64');
}

/**
 * Aborts the open multipart uploads and deletes the objects under `prefix` (one DeleteObject
 * each: DeleteObjects needs Content-MD5 on Swift). Returns how many of each it removed.
 */
export async function deletePrefix(s3: S3, bucket: string, prefix: string): Promise<{ objects: number; multipartUploads: number }> {
  if (!prefix.endsWith('/')) throw new Error(`refusing to delete under "${prefix}": not a folder prefix`);
  let multipartUploads = 0;
  for (;;) {
    const page = await s3.listMultipartUploads({ Bucket: bucket, Prefix: prefix });
    const uploads = (page.Uploads ?? []).filter((u) => u.Key?.startsWith(prefix));
    if (uploads.length === 0) break;
    for (const u of uploads) {
      await s3.abortMultipartUpload({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }).catch(() => {});
      multipartUploads++;
    }
    if (!page.IsTruncated) break;
  }
  const objects = await listObjects(s3, bucket, prefix);
  for (const o of objects) await s3.deleteObject({ Bucket: bucket, Key: o.key });
  return { objects: objects.length, multipartUploads };
}

/**
 * Swift keeps the parts of multipart objects in a `<bucket>+segments` container, which S3
 * listings do not show. Lists (and with `remove`, deletes) those under `prefix` through the
 * Swift API (tempauth with the same credentials). Returns the names found; [] if not Swift.
 */
export async function swiftSegments(settings: S3Settings, prefix: string, { remove = false } = {}): Promise<string[]> {
  if (!settings.S3_ENDPOINT) return [];
  const auth = await fetch(new URL('/auth/v1.0', settings.S3_ENDPOINT), {
    headers: { 'X-Auth-User': settings.S3_ACCESS_KEY_ID, 'X-Auth-Key': settings.S3_SECRET_ACCESS_KEY },
    signal: AbortSignal.timeout(10_000),
  }).catch(() => undefined);
  const token = auth?.headers.get('x-auth-token');
  const storageUrl = auth?.headers.get('x-storage-url');
  if (!auth?.ok || !token || !storageUrl) return [];
  const container = `${storageUrl}/${encodeURIComponent(`${settings.S3_BUCKET}+segments`)}`;
  const names: string[] = [];
  for (let marker = ''; ; ) {
    const res = await fetch(`${container}?format=plain&prefix=${encodeURIComponent(prefix)}&marker=${encodeURIComponent(marker)}`, {
      headers: { 'X-Auth-Token': token },
    });
    if (res.status === 404) break;
    if (!res.ok) throw new Error(`Swift segment listing: ${res.status}`);
    const page = (await res.text()).split('\n').filter(Boolean);
    if (page.length === 0) break;
    names.push(...page);
    marker = page.at(-1)!;
  }
  if (remove) {
    for (const name of names) {
      const res = await fetch(`${container}/${name.split('/').map(encodeURIComponent).join('/')}`, { method: 'DELETE', headers: { 'X-Auth-Token': token } });
      await res.arrayBuffer();
    }
  }
  return names;
}

/** Removes everything a run left under `prefix`; returns how much is left and a line for the log. */
export async function cleanUpPrefix(s3: S3, settings: S3Settings, prefix: string): Promise<{ left: number; text: string }> {
  try {
    const { objects, multipartUploads } = await deletePrefix(s3, settings.S3_BUCKET, prefix);
    const segments = await swiftSegments(settings, prefix, { remove: true });
    const left = (await listObjects(s3, settings.S3_BUCKET, prefix)).length + (await swiftSegments(settings, prefix)).length;
    return {
      left,
      text: `S3 clean-up of ${prefix}: ${objects} objects, ${multipartUploads} open multipart uploads, ${segments.length} stray Swift segments removed; ${left} left`,
    };
  } catch (error) {
    return { left: -1, text: `S3 clean-up of ${prefix} failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}
