import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Config } from '../config.js';
import type { HaulMetrics } from '../metrics/metrics.js';
import { instrumentS3Client } from '../metrics/s3-metrics.js';
import { HaulS3Store } from './haul-s3-store.js';
import { createKeyLayout } from './key-layout.js';
import { createS3Client } from './s3-client.js';
import { concatenateObjects } from './s3-concat.js';
import { listMultipartUploadsBefore, removeAbandoned } from './s3-orphans.js';
import { writeVerifiedViaStaging } from './s3-verified-write.js';
import { isNotFound, type Storage } from './storage.js';

/**
 * Uploads as S3 objects under S3_PREFIX (see key-layout.ts); infected files moved under
 * `<prefix>quarantine/`, which nothing serves.
 */
export function createS3Storage(config: S3Config, expiryMs: number, metrics?: Pick<HaulMetrics, 's3RequestSeconds'>): Storage {
  const store = new HaulS3Store(config, expiryMs);
  // The presigner below only signs URLs: it sends nothing to time.
  if (metrics) instrumentS3Client(store.s3, metrics);
  const { prefix } = config;
  const s3 = store.s3;
  const bucket = store.bucketName;
  // Presigned URLs are for browsers: signed for the origin they reach (S3_PUBLIC_ENDPOINT) — a
  // SigV4 signature covers the host — by a client used for nothing else; Haul keeps S3_ENDPOINT.
  const presigner = config.publicEndpoint ? createS3Client({ ...config, endpoint: config.publicEndpoint }) : s3;
  const quarantineKey = (key: string) => `${prefix}quarantine/${key.slice(prefix.length)}`;

  const deleteDerived = async (key: string) => {
    const listed = await s3.listObjectsV2({ Bucket: bucket, Prefix: `${key}.thumb-` });
    const keys = (listed.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length > 0) await s3.deleteObjects({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } });
  };

  return {
    kind: 's3',
    capabilities: { concatenation: true },
    store,
    layout: createKeyLayout(prefix),
    writeVerified: (body, key, offset) => writeVerifiedViaStaging(store, body, key, offset),
    check: () => store.ping(),
    read: async (key, range) =>
      (await s3.getObject({ Bucket: bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined })).Body as Readable,
    presignDownload: (key, { contentType, contentDisposition, expiresInSeconds }) =>
      getSignedUrl(
        presigner,
        new GetObjectCommand({ Bucket: bucket, Key: key, ResponseContentType: contentType, ResponseContentDisposition: contentDisposition }),
        { expiresIn: expiresInSeconds },
      ),
    replace: async (key, file) => {
      // One PUT (up to 5 GiB; replaced files are images within MAX_IMAGE_SIZE): S3 makes a new
      // object visible whole or not at all. The type the upload was stored with stays.
      const [head, stat] = await Promise.all([s3.headObject({ Bucket: bucket, Key: key }), fsp.stat(file)]);
      await s3.putObject({ Bucket: bucket, Key: key, Body: fs.createReadStream(file), ContentLength: stat.size, ContentType: head.ContentType });
    },
    putDerived: async (key, body, contentType) => {
      await s3.putObject({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, CacheControl: 'private, max-age=31536000, immutable' });
    },
    quarantine: async (key) => {
      const head = await s3.headObject({ Bucket: bucket, Key: key });
      // A (multipart) copy of any size inside S3, then the original goes.
      await concatenateObjects(s3, bucket, quarantineKey(key), [{ key, size: head.ContentLength ?? 0 }], head.ContentType ?? 'application/octet-stream');
      await s3.deleteObject({ Bucket: bucket, Key: key });
    },
    copy: async (from, to) => {
      const head = await s3.headObject({ Bucket: bucket, Key: from });
      // A (multipart) copy of any size inside S3, as for quarantine.
      await concatenateObjects(s3, bucket, to, [{ key: from, size: head.ContentLength ?? 0 }], head.ContentType ?? 'application/octet-stream');
    },
    removeFile: async (key) => {
      await s3.deleteObject({ Bucket: bucket, Key: key });
    },
    removeQuarantined: async (key) => {
      await s3.deleteObject({ Bucket: bucket, Key: quarantineKey(key) });
    },
    concatenate: (final, partials) => store.concatenate(final, partials),
    sweepAbandoned: async (before, isLive) => {
      let removed = 0;
      for await (const { key, uploadId } of listMultipartUploadsBefore(s3, bucket, prefix, before)) {
        if (await isLive(key)) continue;
        await removeAbandoned(s3, bucket, key, uploadId);
        removed++;
      }
      return removed;
    },
    remove: async (key) => {
      try {
        await store.remove(key);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      await deleteDerived(key);
    },
  };
}
