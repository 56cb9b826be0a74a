import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';

/** A minimal node:http client for benchmarks: streams a generated body with backpressure. */

/** One random block, written over and over: no 1 GiB allocation, and nothing compressible. */
const BLOCK = randomBytes(8 * 1024 * 1024);

const digests = new Map<string, string>();

/** When each keep-alive connection last finished a response: a failure on a reused one says how long it had been idle. */
const lastResponseEnd = new WeakMap<object, number>();

/** The `length` bytes of BLOCK repeated, starting at BLOCK position `start`: a body as `request` sends it. */
function* blockWindow(length: number, start = 0): Generator<Buffer> {
  let position = start % BLOCK.length;
  for (let remaining = length; remaining > 0; ) {
    const n = Math.min(remaining, BLOCK.length - position);
    yield n === BLOCK.length ? BLOCK : BLOCK.subarray(position, position + n);
    remaining -= n;
    position = (position + n) % BLOCK.length;
  }
}

/**
 * Base64 digest of a `length`-byte body as `request` sends it (BLOCK repeated, from `start`), for
 * Upload-Checksum or to check stored bytes; computed once per algorithm, length and start.
 */
export function bodyDigest(algorithm: string, length: number, start = 0): string {
  const key = `${algorithm}:${length}:${start % BLOCK.length}`;
  let digest = digests.get(key);
  if (digest === undefined) {
    const hash = createHash(algorithm);
    for (const chunk of blockWindow(length, start)) hash.update(chunk);
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
  /** …starting at this position of the repeated BLOCK (default 0): an upload's offset, so each upload and each chunk has its own bytes… */
  bodyStart?: number;
  /** …or a small body to send as is. */
  body?: string;
  timeoutMs?: number;
}

/** Resolves once the response has ended; rejects on error or after `timeoutMs`. */
export function request(url: string, { method = 'GET', headers = {}, agent, bodyLength = 0, bodyStart = 0, body, timeoutMs = 60_000 }: RequestOptions = {}): Promise<Response> {
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
    // A connection error says which request it ended and, on a reused keep-alive connection, how
    // long that connection had been idle (tells a proxy's idle timeout from a race on reuse).
    req.on('error', (error) => {
      const idleMs = req.reusedSocket && req.socket ? performance.now() - (lastResponseEnd.get(req.socket) ?? Number.NaN) : undefined;
      const connection = idleMs === undefined ? 'a new connection' : `a keep-alive connection idle ${Math.round(idleMs)} ms before`;
      fail(new Error(`${method} ${new URL(url).pathname}: ${error.message} (on ${connection})`));
    });
    req.on('response', (res) => {
      // (by 'end' a kept-alive socket may already be back with the agent, detached from `res`)
      const socket = res.socket;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', fail);
      res.on('end', () => {
        if (socket) lastResponseEnd.set(socket, performance.now());
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
      for (const chunk of blockWindow(bodyLength, bodyStart)) {
        if (settled) break;
        if (!req.write(chunk) && !settled) await drainOrClose(req);
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
