import http from 'node:http';
import { readRange } from './files.js';
import { type HeaderValues, patchHeaders } from './tus.js';

/**
 * PATCHes that do not end well, over raw node:http: cut off mid-body (a dropped network, a
 * killed server), left open and silent (a dead client), or sent slowly (a bad network).
 */

export interface PatchOutcome {
  status?: number;
  error?: Error;
}

/** Resolves when `req` can take more data, has been answered or has closed (a dropped connection never drains). */
function writable(req: http.ClientRequest): Promise<void> {
  const events = ['drain', 'response', 'close'] as const;
  return new Promise((resolve) => {
    const done = () => {
      for (const event of events) req.off(event, done);
      resolve();
    };
    for (const event of events) req.on(event, done);
  });
}

/**
 * Starts a PATCH that promises `declared` bytes (Content-Length) from upload offset `offset`,
 * sends `send` of them — read from `source`, a file (from byte `offset`) or the bytes themselves —
 * in 256 KiB pieces, `pauseMs` apart (a slow client), and leaves the request open unless all were
 * sent. `abort()` tears the connection down mid-body, the way a dropped network does; `done`
 * settles when the request ends either way.
 */
export async function partialPatch(
  uploadUrl: string,
  token: string,
  source: string | Buffer,
  { offset, send, declared, pauseMs = 0, headers = {} }: { offset: number; send: number; declared: number; pauseMs?: number; headers?: HeaderValues },
) {
  const url = new URL(uploadUrl);
  const req = http.request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'PATCH',
    agent: false,
    headers: { ...patchHeaders(offset, headers), Authorization: `Bearer ${token}`, 'Content-Length': declared },
  });
  let answered = false;
  const done = new Promise<PatchOutcome>((resolve) => {
    req.on('response', (res) => {
      answered = true;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
      res.on('error', (error) => resolve({ status: res.statusCode, error }));
    });
    req.on('error', (error) => resolve({ error }));
    req.on('close', () => resolve({}));
  });
  req.flushHeaders();
  const piece = 256 * 1024;
  // A client stops sending once the server has answered, or the connection is gone.
  for (let sent = 0; sent < send && !answered && !req.destroyed; sent += piece) {
    const length = Math.min(piece, send - sent);
    const chunk = typeof source === 'string' ? await readRange(source, offset + sent, offset + sent + length) : source.subarray(sent, sent + length);
    if (!req.write(chunk)) await writable(req);
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
  if (send === declared && !answered && !req.destroyed) req.end();
  return {
    done,
    abort: () => {
      req.destroy();
      return done;
    },
  };
}
