import { createHash } from 'node:crypto';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { S3 } from '@aws-sdk/client-s3';
import type { S3Config } from '../config.js';
import { stallLimitedRequestHandler } from './s3-request-handler.js';

/**
 * S3 client settings that work on S3-compatible stores, not only AWS:
 * - SDK >= 3.729 adds CRC32 checksums and aws-chunked streaming to every request; MinIO-era,
 *   Swift, R2 and others answer 501. Only send checksums when an operation requires one.
 * - Path-style addressing, since custom endpoints rarely have wildcard DNS.
 * - A limit on how long a request may stall (S3_STALL_TIMEOUT_MS): the SDK has none by default.
 */
export function s3ClientConfig(config: S3Config): S3ClientConfig {
  return {
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials:
      config.accessKeyId && config.secretAccessKey
        ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }
        : undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: stallLimitedRequestHandler(config.stallMs),
  };
}

/**
 * DeleteObjects requires Content-MD5 on Swift (and older MinIO); SDK v3 >= 3.729 sends a CRC32
 * checksum instead, so termination would fail with 400/500 and leave an upload half-removed.
 */
export function addContentMd5ToDeleteObjects(client: S3): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { body?: unknown; headers?: Record<string, string> };
      if (context.commandName === 'DeleteObjectsCommand' && request.headers) {
        const body = request.body;
        if (typeof body === 'string' || body instanceof Uint8Array) {
          request.headers['content-md5'] = createHash('md5').update(body).digest('base64');
        }
      }
      return next(args);
    },
    { step: 'build', name: 'haulDeleteObjectsContentMd5', override: true },
  );
}

/** The commands that create objects: parts of a multipart upload (UploadPart, UploadPartCopy) are encrypted as their upload was created. */
const OBJECT_WRITES = new Set(['PutObjectCommand', 'CreateMultipartUploadCommand', 'CopyObjectCommand']);

/**
 * S3_SSE: every object Haul writes — uploads (multipart, `.part`, `.info`), previews,
 * concatenated finals, quarantined copies — asks for server-side encryption, on the one client
 * every write goes through. Downloads (presigned GETs included) need nothing for SSE-S3/KMS.
 */
export function addServerSideEncryption(client: S3, sse: S3Config['sse']): void {
  if (!sse) return;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== undefined && OBJECT_WRITES.has(context.commandName)) {
        const input = args.input as { ServerSideEncryption?: string; SSEKMSKeyId?: string };
        input.ServerSideEncryption = sse.algorithm;
        if (sse.kmsKeyId) input.SSEKMSKeyId = sse.kmsKeyId;
      }
      return next(args);
    },
    { step: 'initialize', name: 'haulServerSideEncryption', override: true },
  );
}

export function createS3Client(config: S3Config): S3 {
  const client = new S3(s3ClientConfig(config));
  addContentMd5ToDeleteObjects(client);
  addServerSideEncryption(client, config.sse);
  return client;
}
