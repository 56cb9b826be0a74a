import { type MetadataValue, S3Store } from '@tus/s3-store';
import { ERRORS, type KvStore, TUS_RESUMABLE, type Upload } from '@tus/utils';
import type { S3Config } from '../config.js';
import { addContentMd5ToDeleteObjects, s3ClientConfig } from './s3-client.js';

/**
 * S3Store caches each upload's `.info` in process memory. With several Haul instances behind a
 * load balancer another instance can change it (deferred length declared, upload completed),
 * so a cached copy would go stale. Every read goes to S3 instead.
 */
class NoCache implements KvStore<MetadataValue> {
  async get(): Promise<undefined> {
    return undefined;
  }
  async set(): Promise<void> {}
  async delete(): Promise<void> {}
}

const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NoSuchUpload', 'NotFound']);
export const isS3NotFound = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && NOT_FOUND_CODES.has((error as { name?: string }).name ?? '');

/** A type the object may be served as; anything odd becomes application/octet-stream. */
const SAFE_CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i;

/**
 * @tus/s3-store configured for S3-compatible stores, with the object's Content-Type taken from
 * the upload's `filetype` metadata (S3Store only looks at a `contentType` key no tus client sends).
 */
export class HaulS3Store extends S3Store {
  constructor(config: S3Config, expirationPeriodInMilliseconds: number) {
    super({
      s3ClientConfig: { ...s3ClientConfig(config), bucket: config.bucket },
      partSize: config.partSize,
      // Swift and R2 have no object tagging; S3Store only needs tags for its own expiry sweep,
      // which Haul replaces with a database-driven one scoped to our prefix.
      useTags: config.useTags,
      expirationPeriodInMilliseconds,
      cache: new NoCache(),
    });
    addContentMd5ToDeleteObjects(this.client);
  }

  override async create(upload: Upload): Promise<Upload> {
    const filetype = upload.metadata?.filetype ?? undefined;
    upload.creation_date = new Date().toISOString();
    const res = await this.client.createMultipartUpload({
      Bucket: this.bucket,
      Key: upload.id,
      Metadata: { 'tus-version': TUS_RESUMABLE },
      ContentType: filetype && SAFE_CONTENT_TYPE.test(filetype) ? filetype : 'application/octet-stream',
    });
    upload.storage = { type: 's3', path: res.Key ?? upload.id, bucket: this.bucket };
    await this.saveMetadata(upload, res.UploadId ?? '');
    // A zero-byte upload is complete on creation, and tus never calls write() for it: complete
    // the multipart upload now (with one empty part) so the object exists like any other.
    if (upload.size === 0) {
      await this.finishMultipartUpload({ file: upload, 'upload-id': res.UploadId ?? '', 'tus-version': TUS_RESUMABLE }, []);
    }
    return upload;
  }

  /**
   * S3Store.getUpload reports *any* failure to read `.info` as 404, so while S3 is unreachable
   * a client is told its upload no longer exists and starts over. Only a missing `.info` is a
   * 404 here; an outage propagates and becomes a retryable 503.
   */
  override async getUpload(id: string): Promise<Upload> {
    try {
      await this.getMetadata(id);
    } catch (error) {
      if (isS3NotFound(error)) throw ERRORS.FILE_NOT_FOUND;
      throw error;
    }
    return super.getUpload(id);
  }

  /**
   * Removes everything the upload created: aborts its multipart upload (if still open) and
   * deletes the object, `.info` and `.part`. S3Store.remove leaves `.part` behind and gives up
   * on finished uploads (whose multipart upload no longer exists) before deleting the object.
   */
  override async remove(id: string): Promise<void> {
    let uploadId: string | undefined;
    try {
      uploadId = (await this.getMetadata(id))['upload-id'];
    } catch (error) {
      if (!isS3NotFound(error)) throw error;
      throw ERRORS.FILE_NOT_FOUND;
    }
    if (uploadId) {
      await this.client.abortMultipartUpload({ Bucket: this.bucket, Key: id, UploadId: uploadId }).catch((error: unknown) => {
        if (!isS3NotFound(error)) throw error;
      });
    }
    await this.client.deleteObjects({
      Bucket: this.bucket,
      Delete: { Objects: [{ Key: id }, { Key: this.infoKey(id) }, { Key: this.partKey(id, true) }], Quiet: true },
    });
  }

  /**
   * Keys of multipart uploads under `prefix` started before `before`: candidates for the orphan
   * sweep. Listing is scoped to our prefix, so nothing else in a shared bucket is ever touched.
   */
  async *listMultipartUploadsBefore(prefix: string, before: Date): AsyncGenerator<{ key: string; uploadId: string }> {
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.client.listMultipartUploads({ Bucket: this.bucket, Prefix: prefix, KeyMarker, UploadIdMarker });
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

  /** Aborts one multipart upload and deletes the objects tus keeps beside it. */
  async removeAbandoned(key: string, uploadId: string): Promise<void> {
    await this.client.abortMultipartUpload({ Bucket: this.bucket, Key: key, UploadId: uploadId }).catch((error: unknown) => {
      if (!isS3NotFound(error)) throw error;
    });
    await this.client.deleteObjects({
      Bucket: this.bucket,
      Delete: { Objects: [{ Key: this.infoKey(key) }, { Key: this.partKey(key, true) }], Quiet: true },
    });
  }

  /** The bucket answers (readiness probe). */
  async ping(): Promise<void> {
    await this.client.headBucket({ Bucket: this.bucket });
  }

  get s3() {
    return this.client;
  }

  get bucketName(): string {
    return this.bucket;
  }
}
