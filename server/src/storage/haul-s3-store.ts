import { type MetadataValue, S3Store } from '@tus/s3-store';
import { TUS_RESUMABLE, Upload, type KvStore } from '@tus/utils';
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
    return upload;
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
