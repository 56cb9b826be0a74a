// Baseline: bare @tus/server + @tus/s3-store (S3Store as its README configures it) on node:http,
// no Haul code. Only the S3 client settings that S3-compatible stores need are added.
// env: S3_BUCKET, S3_ENDPOINT, S3_REGION (us-east-1), S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY (required),
//      PREFIX (key prefix, e.g. "bench-x/bare/"; default none), PART_SIZE (bytes, default 8 MiB),
//      PORT (default 0), HOST (default 127.0.0.1).
//
// With PREFIX, upload ids are `<PREFIX><uuid>` (so the benchmark can remove everything it wrote)
// and travel base64url-encoded in the upload URL, the way @tus/server's docs show for ids
// containing "/". S3Store keeps its default in-memory metadata cache.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { S3Store } from '@tus/s3-store';
import { Server } from '@tus/server';

for (const key of ['S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']) {
  if (!process.env[key]) {
    process.stderr.write(`bare-tus-s3: ${key} is required\n`);
    process.exit(2);
  }
}
const prefix = process.env.PREFIX ?? '';
const MiB = 1024 * 1024;

const datastore = new S3Store({
  partSize: Number(process.env.PART_SIZE ?? 8 * MiB),
  useTags: false, // Swift and R2 have no object tagging
  s3ClientConfig: {
    bucket: process.env.S3_BUCKET,
    region: process.env.S3_REGION || 'us-east-1',
    endpoint: process.env.S3_ENDPOINT || undefined,
    forcePathStyle: true,
    credentials: { accessKeyId: process.env.S3_ACCESS_KEY_ID, secretAccessKey: process.env.S3_SECRET_ACCESS_KEY },
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

const httpServer = http.createServer((req, res) => server.handle(req, res));
httpServer.requestTimeout = 0; // like Haul: uploads are long requests
httpServer.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = httpServer.address();
  process.stdout.write(`${JSON.stringify({ msg: 'listening', url: `http://${address}:${port}` })}\n`);
});
const stop = () => httpServer.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
