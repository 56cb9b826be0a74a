import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { S3 } from '@aws-sdk/client-s3';
import { userStorageKey } from '../../server/src/auth/user.js';
import { createS3Client } from '../../server/src/storage/s3-client.js';

/**
 * The local S3 (OpenStack Swift) that scripts/test.sh starts with scripts/local-s3.sh and
 * exports as TEST_S3_*. Each test file uses its own key prefix, so files never see each
 * other's objects, and "other keys in the bucket" are simply other prefixes.
 */
export function localS3() {
  const need = (name: string) => {
    const value = process.env[`TEST_${name}`];
    if (!value) throw new Error(`TEST_${name} is not set: run the suite with npm test (scripts/test.sh starts local S3)`);
    return value;
  };
  const settings = {
    S3_ENDPOINT: need('S3_ENDPOINT'),
    S3_REGION: process.env.TEST_S3_REGION ?? 'us-east-1',
    S3_BUCKET: need('S3_BUCKET'),
    S3_ACCESS_KEY_ID: need('S3_ACCESS_KEY_ID'),
    S3_SECRET_ACCESS_KEY: need('S3_SECRET_ACCESS_KEY'),
    S3_FORCE_PATH_STYLE: 'true',
  };
  const client: S3 = createS3Client({
    endpoint: settings.S3_ENDPOINT,
    region: settings.S3_REGION,
    bucket: settings.S3_BUCKET,
    accessKeyId: settings.S3_ACCESS_KEY_ID,
    secretAccessKey: settings.S3_SECRET_ACCESS_KEY,
    forcePathStyle: true,
    prefix: '',
    partSize: 8 * 2 ** 20,
    useTags: false,
  });
  const bucket = settings.S3_BUCKET;

  return {
    client,
    bucket,
    /** Server environment for a fresh prefix. */
    env(prefix = `t-${randomBytes(4).toString('hex')}/`) {
      return { ...settings, S3_PREFIX: prefix };
    },
    /** Where an upload's object lives: <prefix><user-key>/<upload-id> (README "Storage layout"). */
    keyOf(prefix: string, user: string, uploadId: string) {
      return `${prefix}${userStorageKey(user)}/${uploadId}`;
    },
    async listKeys(prefix: string): Promise<string[]> {
      const keys: string[] = [];
      let ContinuationToken: string | undefined;
      do {
        const page = await client.listObjectsV2({ Bucket: bucket, Prefix: prefix, ContinuationToken });
        for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
      return keys.sort();
    },
    async listMultipartUploads(prefix: string) {
      const page = await client.listMultipartUploads({ Bucket: bucket, Prefix: prefix });
      return page.Uploads ?? [];
    },
    async listMultipartKeys(prefix: string): Promise<string[]> {
      return (await this.listMultipartUploads(prefix)).map((u) => u.Key ?? '').sort();
    },
    /** SHA-256 of an object, streamed. */
    async sha256(key: string): Promise<string> {
      const object = await client.getObject({ Bucket: bucket, Key: key });
      const hash = createHash('sha256');
      for await (const chunk of object.Body as Readable) hash.update(chunk as Buffer);
      return hash.digest('hex');
    },
    async head(key: string) {
      return client.headObject({ Bucket: bucket, Key: key });
    },
  };
}

export type LocalS3 = ReturnType<typeof localS3>;
