import { randomUUID } from 'node:crypto';
import { S3Store } from '@tus/s3-store';
import { Server } from '@tus/server';
import { required, serve } from './serve.js';

/**
 * Baseline: bare @tus/server + @tus/s3-store (S3Store as its README configures it) on node:http,
 * no Haul code. Only the S3 client settings that S3-compatible stores need are added.
 * env: S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY (required), S3_ENDPOINT, S3_REGION (us-east-1),
 *      PREFIX (key prefix, e.g. "bench-x/bare/"; default none), PART_SIZE (bytes, default 8 MiB),
 *      PORT (default 0), HOST (default 127.0.0.1).
 *
 * With PREFIX, upload ids are `<PREFIX><uuid>` (so the benchmark can remove everything it wrote)
 * and travel base64url-encoded in the upload URL, the way @tus/server's docs show for ids
 * containing "/". S3Store keeps its default in-memory metadata cache.
 */

const name = 'bare-tus-s3';
const bucket = required(name, 'S3_BUCKET');
const accessKeyId = required(name, 'S3_ACCESS_KEY_ID');
const secretAccessKey = required(name, 'S3_SECRET_ACCESS_KEY');
const prefix = process.env.PREFIX ?? '';

const datastore = new S3Store({
  partSize: Number(process.env.PART_SIZE ?? 8 * 2 ** 20),
  useTags: false, // Swift and R2 have no object tagging
  s3ClientConfig: {
    bucket,
    region: process.env.S3_REGION || 'us-east-1',
    endpoint: process.env.S3_ENDPOINT || undefined,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    // AWS SDK >= 3.729 sends CRC32 checksums (aws-chunked) by default; Swift, MinIO-era and R2 refuse them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  },
});

const server = new Server({
  path: '/files',
  datastore,
  ...(prefix
    ? {
        namingFunction: () => `${prefix}${randomUUID()}`,
        generateUrl: (_req, { proto, host, path, id }) => `${proto}://${host}${path}/${Buffer.from(id, 'utf8').toString('base64url')}`,
        getFileIdFromRequest: (_req, lastPathSegment) => (lastPathSegment ? Buffer.from(lastPathSegment, 'base64url').toString('utf8') : undefined),
      }
    : {}),
});
serve((req, res) => void server.handle(req, res));
