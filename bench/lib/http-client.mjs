// A minimal node:http client for benchmarks: streams a generated body with backpressure.
import { randomBytes } from 'node:crypto';
import http from 'node:http';

/** One random block, written over and over: no 1 GiB allocation, and nothing compressible. */
export const BLOCK = randomBytes(8 * 1024 * 1024);

/**
 * Sends one request. `bodyLength` bytes of BLOCK-repeated data are streamed, waiting for
 * 'drain' whenever the socket buffer is full. Resolves with status, headers and the (small)
 * response body once the response has ended; rejects on error or after `timeoutMs`.
 */
export function request(url, { method = 'GET', headers = {}, agent, bodyLength = 0, body, timeoutMs = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        req.destroy();
        reject(error);
      } else resolve(value);
    };
    const allHeaders = { ...headers };
    if (body !== undefined) allHeaders['Content-Length'] = Buffer.byteLength(body);
    else if (bodyLength > 0 || method === 'PATCH' || method === 'POST') allHeaders['Content-Length'] = bodyLength;

    const req = http.request(url, { method, headers: allHeaders, agent });
    const timer = setTimeout(
      () => finish(new Error(`${method} ${url}: no response within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('error', (error) => finish(error));
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', (error) => finish(error));
      res.on('end', () =>
        finish(null, { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });

    if (body !== undefined) {
      req.end(body);
      return;
    }
    void (async () => {
      let remaining = bodyLength;
      while (remaining > 0 && !settled) {
        const n = Math.min(remaining, BLOCK.length);
        remaining -= n;
        const ok = req.write(n === BLOCK.length ? BLOCK : BLOCK.subarray(0, n));
        if (!ok && !settled) {
          await new Promise((resolve) => {
            const done = () => {
              req.off('drain', done);
              req.off('close', done);
              resolve();
            };
            req.on('drain', done);
            req.on('close', done);
          });
        }
      }
      if (!settled) req.end();
    })();
  });
}
