import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { createS3Client } from '../../server/src/storage/s3-client.js';

/**
 * The local Swift's second proxy, which adds Swift's at-rest encryption (keymaster + encryption
 * middleware; scripts/lib-s3-encrypted-proxy.sh), as `scripts/local-s3.sh env` exports it
 * (TEST_S3_LOCAL_ENCRYPTED_*): its S3 endpoint and bucket, its access log (one line per request
 * with its `x-amz-server-side-encryption` and `x-amz-copy-source` headers), and the object
 * servers' directory, where the bytes it stored can be looked at. Undefined when not exported.
 */
export function encryptedLocalS3() {
  const endpoint = process.env.TEST_S3_LOCAL_ENCRYPTED_ENDPOINT;
  const bucket = process.env.TEST_S3_LOCAL_ENCRYPTED_BUCKET;
  const accessLog = process.env.TEST_S3_LOCAL_ENCRYPTED_ACCESS_LOG;
  const objectsDir = process.env.TEST_S3_LOCAL_OBJECTS_DIR;
  const accessKeyId = process.env.TEST_S3_ACCESS_KEY_ID;
  const secretAccessKey = process.env.TEST_S3_SECRET_ACCESS_KEY;
  if (!endpoint || !bucket || !accessLog || !objectsDir || !accessKeyId || !secretAccessKey) return undefined;
  const region = process.env.TEST_S3_REGION ?? 'us-east-1';
  const client = createS3Client({
    endpoint, region, bucket, accessKeyId, secretAccessKey, forcePathStyle: true, prefix: '', partSize: 8 * 2 ** 20, useTags: false, sse: undefined, stallMs: 30_000,
  });

  return {
    endpoint,
    bucket,
    /** An S3 client without SSE headers (reads, listings). */
    client,
    /** Server environment for a fresh prefix on this proxy's bucket. */
    env: (prefix: string) => ({
      S3_ENDPOINT: endpoint, S3_REGION: region, S3_BUCKET: bucket, S3_ACCESS_KEY_ID: accessKeyId,
      S3_SECRET_ACCESS_KEY: secretAccessKey, S3_FORCE_PATH_STYLE: 'true', S3_PREFIX: prefix,
    }),
    /** Where the access log ends now: requests after this are read by `requestsSince`. */
    logMark: async () => (await fsp.stat(accessLog)).size,
    requestsSince: async (mark: number) => parseAccessLog((await fsp.readFile(accessLog)).subarray(mark).toString('utf8')),
    swift: () => swiftApi(endpoint, accessKeyId, secretAccessKey),
    /** Removes a test's objects and multipart uploads (the proxy's bucket is shared by every run). */
    async removePrefix(prefix: string) {
      for (const upload of (await client.listMultipartUploads({ Bucket: bucket, Prefix: prefix })).Uploads ?? []) {
        await client.abortMultipartUpload({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId });
      }
      const keys = ((await client.listObjectsV2({ Bucket: bucket, Prefix: prefix })).Contents ?? []).map((o) => ({ Key: o.Key }));
      if (keys.length > 0) await client.deleteObjects({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } });
    },
    /** The `.data` files of an object on the object servers' disk (Swift's layout, below). */
    dataFiles: (account: string, container: string, name: string) => dataFilesOf(objectsDir, account, container, name),
  };
}

export type EncryptedLocalS3 = NonNullable<ReturnType<typeof encryptedLocalS3>>;

/** One client request as the encrypted proxy logged it. */
export interface LoggedRequest {
  method: string;
  /** The object key (decoded), for requests below the bucket. */
  bucket: string;
  key: string;
  query: URLSearchParams;
  status: number;
  /** Lower-cased names of the logged headers. */
  headers: Map<string, string>;
}

/**
 * Lines `sse-access: {method} {path} {status_int} {source} {transaction_id} {headers}` (the
 * proxy's log_msg_template; Swift URL-quotes every field). Only client requests (source `-`): the
 * subrequests Swift's middlewares make are not Haul's.
 */
function parseAccessLog(text: string): LoggedRequest[] {
  const requests: LoggedRequest[] = [];
  for (const line of text.split('\n')) {
    const at = line.indexOf('sse-access: ');
    if (at < 0) continue;
    const [method, quotedPath, status, source, , quotedHeaders] = line.slice(at + 'sse-access: '.length).split(' ');
    if (!method || !quotedPath || source !== '-') continue;
    const url = new URL(decodeURIComponent(quotedPath), 'http://s3');
    const [, bucket = '', ...key] = url.pathname.split('/').map(decodeURIComponent);
    const headers = new Map<string, string>();
    if (quotedHeaders && quotedHeaders !== '-') {
      for (const header of decodeURIComponent(quotedHeaders).split('\n')) {
        const colon = header.indexOf(':');
        if (colon > 0) headers.set(header.slice(0, colon).trim().toLowerCase(), header.slice(colon + 1).trim());
      }
    }
    requests.push({ method, bucket, key: key.join('/'), query: url.searchParams, status: Number(status), headers });
  }
  return requests;
}

/** Swift's own API on the same proxy (tempauth with the S3 credentials): listings of any container, raw objects. */
async function swiftApi(endpoint: string, user: string, key: string) {
  const auth = await fetch(new URL('/auth/v1.0', endpoint), { headers: { 'X-Auth-User': user, 'X-Auth-Key': key } });
  const token = auth.headers.get('x-auth-token');
  const storageUrl = auth.headers.get('x-storage-url');
  if (!auth.ok || !token || !storageUrl) throw new Error(`Swift auth: ${auth.status}`);
  const objectUrl = (container: string, name: string) =>
    `${storageUrl}/${encodeURIComponent(container)}/${name.split('/').map(encodeURIComponent).join('/')}`;
  return {
    /** AUTH_<account>: the account part of the storage URL. */
    account: decodeURIComponent(new URL(storageUrl).pathname.split('/')[2]!),
    async list(container: string, prefix: string): Promise<string[]> {
      const names: string[] = [];
      for (let marker = ''; ; ) {
        const response = await fetch(
          `${storageUrl}/${encodeURIComponent(container)}?format=plain&prefix=${encodeURIComponent(prefix)}&marker=${encodeURIComponent(marker)}`,
          { headers: { 'X-Auth-Token': token } },
        );
        if (response.status === 404) return names;
        if (!response.ok) throw new Error(`Swift listing ${container}: ${response.status}`);
        const page = (await response.text()).split('\n').filter(Boolean);
        if (page.length === 0) return names;
        names.push(...page);
        marker = page.at(-1)!;
      }
    },
    /**
     * The first `bytes` of the object's stored body as this proxy returns it (decrypted; a
     * large-object manifest itself, not its segments); undefined if it is gone.
     */
    async read(container: string, name: string, bytes: number): Promise<Buffer | undefined> {
      const response = await fetch(`${objectUrl(container, name)}?multipart-manifest=get`, {
        headers: { 'X-Auth-Token': token, Range: `bytes=0-${bytes - 1}` },
      });
      if (response.status === 404) return undefined;
      if (response.status === 416) return Buffer.alloc(0); // an empty object has no byte 0
      if (!response.ok) throw new Error(`Swift GET ${container}/${name}: ${response.status}`);
      return Buffer.from(await response.arrayBuffer());
    },
  };
}

/** /etc/swift/swift.conf's hash path prefix and suffix (Swift reads them from that fixed path only). */
let salts: { prefix: string; suffix: string } | undefined;
function hashPathSalts(): { prefix: string; suffix: string } {
  if (salts) return salts;
  const conf = fs.readFileSync('/etc/swift/swift.conf', 'utf8');
  const value = (name: string) => new RegExp(`^\\s*${name}\\s*=\\s*(.*?)\\s*$`, 'm').exec(conf)?.[1] ?? '';
  salts = { prefix: value('swift_hash_path_prefix'), suffix: value('swift_hash_path_suffix') };
  return salts;
}

/**
 * Swift's on-disk layout (policy 0, one device): `objects/<partition>/<last 3 hex of hash>/<hash>/<timestamp>.data`,
 * hash = md5(prefix + "/account/container/object" + suffix) (swift.common.utils.hash_path). The
 * partition depends on the ring's part power; rather than read the ring, every partition directory
 * is tried.
 */
async function dataFilesOf(objectsDir: string, account: string, container: string, name: string): Promise<string[]> {
  const { prefix, suffix } = hashPathSalts();
  const hash = createHash('md5').update(`${prefix}/${account}/${container}/${name}${suffix}`).digest('hex');
  const files: string[] = [];
  for (const partition of await fsp.readdir(objectsDir).catch(() => [] as string[])) {
    const dir = path.join(objectsDir, partition, hash.slice(-3), hash);
    const entries = await fsp.readdir(dir).catch(() => [] as string[]);
    files.push(...entries.filter((entry) => entry.endsWith('.data')).map((entry) => path.join(dir, entry)));
  }
  return files;
}
