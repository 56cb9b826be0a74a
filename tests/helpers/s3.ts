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
  const config = {
    endpoint: settings.S3_ENDPOINT,
    region: settings.S3_REGION,
    bucket: settings.S3_BUCKET,
    accessKeyId: settings.S3_ACCESS_KEY_ID,
    secretAccessKey: settings.S3_SECRET_ACCESS_KEY,
    forcePathStyle: true,
    prefix: '',
    partSize: 8 * 2 ** 20,
    useTags: false,
    sse: undefined,
    stallMs: 30_000,
  };
  const client: S3 = createS3Client(config);
  const bucket = settings.S3_BUCKET;

  return {
    client,
    /** The S3 settings of the local store, as the server's config has them (no prefix). */
    config,
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
    /**
     * Swift only: the object keys that still own multipart segments under `prefix`. Swift keeps
     * the parts of S3 multipart uploads as objects in `<bucket>+segments`, named
     * `<key>/<upload-id>/<part>`, and an aborted upload's parts disappear from every S3 listing;
     * a part stored after its upload was aborted can only be seen here. Uses Swift's own API
     * (tempauth with the S3 credentials) on the same endpoint.
     */
    async swiftSegmentOwners(prefix: string): Promise<Set<string>> {
      const auth = await fetch(new URL('/auth/v1.0', settings.S3_ENDPOINT), {
        headers: { 'X-Auth-User': settings.S3_ACCESS_KEY_ID, 'X-Auth-Key': settings.S3_SECRET_ACCESS_KEY },
      });
      const token = auth.headers.get('x-auth-token');
      const storageUrl = auth.headers.get('x-storage-url');
      if (!auth.ok || !token || !storageUrl) throw new Error(`Swift auth: ${auth.status}`);
      const owners = new Set<string>();
      for (let marker = ''; ; ) {
        const listing = `${storageUrl}/${encodeURIComponent(`${bucket}+segments`)}?format=plain&prefix=${encodeURIComponent(prefix)}&marker=${encodeURIComponent(marker)}`;
        const response = await fetch(listing, { headers: { 'X-Auth-Token': token } });
        if (response.status === 404) return owners;
        if (!response.ok) throw new Error(`Swift listing: ${response.status}`);
        const names = (await response.text()).split('\n').filter(Boolean);
        if (names.length === 0) return owners;
        for (const name of names) owners.add(name.split('/').slice(0, -2).join('/'));
        marker = names.at(-1)!;
      }
    },
  };
}

export type LocalS3 = ReturnType<typeof localS3>;
