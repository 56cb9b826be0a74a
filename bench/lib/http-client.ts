import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';

/** A minimal node:http client for benchmarks: streams a generated body with backpressure. */

/** One random block, written over and over: no 1 GiB allocation, and nothing compressible. */
const BLOCK = randomBytes(8 * 1024 * 1024);

const digests = new Map<string, string>();

/**
 * Base64 digest of a `length`-byte body as `request` sends it (BLOCK repeated), for
 * Upload-Checksum; computed once per algorithm and length, before any timing starts.
 */
export function bodyDigest(algorithm: string, length: number): string {
  const key = `${algorithm}:${length}`;
  let digest = digests.get(key);
  if (digest === undefined) {
    const hash = createHash(algorithm);
    for (let remaining = length; remaining > 0; remaining -= BLOCK.length) hash.update(remaining >= BLOCK.length ? BLOCK : BLOCK.subarray(0, remaining));
    digest = hash.digest('base64');
    digests.set(key, digest);
  }
  return digest;
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  agent?: http.Agent;
  /** Bytes of BLOCK-repeated data to stream as the body… */
  bodyLength?: number;
  /** …or a small body to send as is. */
  body?: string;
  timeoutMs?: number;
}

/** Resolves once the response has ended; rejects on error or after `timeoutMs`. */
export function request(url: string, { method = 'GET', headers = {}, agent, bodyLength = 0, body, timeoutMs = 60_000 }: RequestOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const allHeaders: Record<string, string | number> = { ...headers };
    if (body !== undefined) allHeaders['Content-Length'] = Buffer.byteLength(body);
    else if (bodyLength > 0 || method === 'PATCH' || method === 'POST') allHeaders['Content-Length'] = bodyLength;
    const req = http.request(url, { method, headers: allHeaders, agent });
    const timer = setTimeout(() => fail(new Error(`${method} ${url}: no response within ${timeoutMs} ms`)), timeoutMs);
    function fail(error: Error) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(error);
    }
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', fail);
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    if (body !== undefined) {
      req.end(body);
      return;
    }
    void (async () => {
      for (let remaining = bodyLength; remaining > 0 && !settled; ) {
        const n = Math.min(remaining, BLOCK.length);
        remaining -= n;
        if (!req.write(n === BLOCK.length ? BLOCK : BLOCK.subarray(0, n)) && !settled) await drainOrClose(req);
      }
      if (!settled) req.end();
    })();
  });
}

function drainOrClose(req: http.ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}
