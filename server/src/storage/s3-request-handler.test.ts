import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { S3 } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { S3Config } from '../config.js';
import { isTransientStorageError } from '../tus/tus-errors.js';
import { s3ClientConfig } from './s3-client.js';

/**
 * The S3 client's stall limit against a local HTTP server playing a misbehaving S3: silence fails
 * a request after S3_STALL_TIMEOUT_MS, slow-but-moving traffic and a GetObject body read at a
 * slow reader's pace do not.
 */

const STALL_MS = 600;
const MiB = 2 ** 20;
type Behaviour = (req: http.IncomingMessage, res: http.ServerResponse) => void;

let behaviour: Behaviour = () => {};
let requests = 0;
let server: http.Server;
let endpoint: string;
const clients: S3[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests += 1;
    behaviour(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  for (const client of clients.splice(0)) client.destroy();
  server.closeAllConnections();
  requests = 0;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function client(maxAttempts = 1): S3 {
  const config: S3Config = {
    endpoint, region: 'us-east-1', bucket: 'b', accessKeyId: 'k', secretAccessKey: 's', forcePathStyle: true,
    prefix: '', partSize: 8 * MiB, useTags: false, sse: undefined, stallMs: STALL_MS,
  };
  const s3 = new S3({ ...s3ClientConfig(config), maxAttempts });
  clients.push(s3);
  return s3;
}

/** How long `work` took to fail, and with what. */
async function failure(work: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    await work;
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
  throw new Error('expected the request to fail');
}

describe('S3 requests that stall', () => {
  it('a request S3 never answers fails after the stall limit, as a transient error the SDK retries', async () => {
    behaviour = (req) => req.resume(); // reads the request, never answers
    const { error, ms } = await failure(client(2).headObject({ Bucket: 'b', Key: 'k' }));
    expect((error as Error).name).toBe('TimeoutError');
    expect(isTransientStorageError(error)).toBe(true); // → 503 STORAGE_UNAVAILABLE
    expect(requests).toBe(2);
    expect(ms).toBeGreaterThanOrEqual(2 * STALL_MS - 50);
    expect(ms).toBeLessThan(2 * STALL_MS + 3000);
  });

  it('a body S3 stops reading fails after the stall limit (not retried: the stream is spent)', async () => {
    let received = 0;
    behaviour = (req) => {
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= MiB) req.pause(); // then reads nothing more: its socket stops being read
      });
    };
    const size = 64 * MiB;
    const chunk = Buffer.alloc(256 * 1024, 7);
    const body = Readable.from((function* () {
      for (let sent = 0; sent < size; sent += chunk.length) yield chunk;
    })());
    const { error, ms } = await failure(client(3).putObject({ Bucket: 'b', Key: 'k', Body: body, ContentLength: size }));
    expect((error as Error).name).toBe('TimeoutError');
    expect(requests).toBe(1);
    expect(received).toBeLessThan(size);
    expect(ms).toBeLessThan(STALL_MS + 8000); // Expect: 100-continue may wait up to 6 s before the body goes
  });

  it('an answer that keeps moving is not cut, however long it takes in all', async () => {
    const parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<ListPartsResult>', '<Bucket>b</Bucket><Key>k</Key>', '<UploadId>u</UploadId>', '</ListPartsResult>'];
    behaviour = (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/xml' });
      let next = 0;
      const timer = setInterval(() => {
        if (next < parts.length) res.write(parts[next++]);
        else {
          clearInterval(timer);
          res.end();
        }
      }, STALL_MS / 2);
    };
    const started = performance.now();
    const listed = await client().listParts({ Bucket: 'b', Key: 'k', UploadId: 'u' });
    expect(listed.UploadId).toBe('u');
    expect(performance.now() - started).toBeGreaterThan(2 * STALL_MS); // longer than the limit in all
  });
});

describe('GetObject', () => {
  it('its body goes at the reader’s pace: a reader pausing past the stall limit gets every byte', async () => {
    const content = Buffer.alloc(8 * MiB, 3);
    behaviour = (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': content.length });
      res.end(content);
    };
    const answer = await client().getObject({ Bucket: 'b', Key: 'k' });
    const body = answer.Body as Readable;
    let read = 0;
    for await (const chunk of body) {
      if (read === 0) await new Promise((resolve) => setTimeout(resolve, 3 * STALL_MS)); // a slow client
      read += (chunk as Buffer).length;
    }
    expect(read).toBe(content.length);
  });

  it('an answer whose headers never come fails after the stall limit', async () => {
    behaviour = (req) => req.resume();
    const { error, ms } = await failure(client().getObject({ Bucket: 'b', Key: 'k' }));
    expect((error as Error).name).toBe('TimeoutError');
    expect(isTransientStorageError(error)).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(STALL_MS - 50);
    expect(ms).toBeLessThan(STALL_MS + 3000);
  });
});
