import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import * as tus from 'tus-js-client';

/** Uploads a file with tus-js-client (the Node build), the way an application would, and times it. */

export interface TusJsUpload {
  endpoint: string;
  file: string;
  headers?: Record<string, string>;
  /** > 1: tus Concatenation, that many partial uploads at once, then a final POST. */
  parallel?: number;
  chunkSize: number;
  timeoutMs?: number;
  /** tus-js-client's retry delays; default none (a failure fails the measurement). */
  retryDelays?: number[];
  /** The HTTP agent of every request (e.g. no keep-alive: one connection per request). */
  agent?: http.Agent;
}

export interface TusJsResult {
  url: string;
  /** Wall time from start() to onSuccess. */
  ms: number;
  /** Parallel uploads: the final POST on the client (request sent → response received). */
  finalPostMs: number | undefined;
}

/**
 * Uploads `file` (an fs.ReadStream source, so parallel slices read the file independently).
 * No retries unless `retryDelays` are given: a failure fails the measurement.
 */
export function tusJsUpload({ endpoint, file, headers = {}, parallel = 1, chunkSize, timeoutMs = 30 * 60_000, retryDelays, agent }: TusJsUpload): Promise<TusJsResult> {
  return new Promise((resolve, reject) => {
    let finalSent: number | undefined;
    let finalAnswered: number | undefined;
    const isFinalPost = (req: tus.HttpRequest) => req.getMethod() === 'POST' && String(req.getHeader('Upload-Concat') ?? '').startsWith('final');
    const started = performance.now();
    const upload = new tus.Upload(fs.createReadStream(file), {
      endpoint,
      headers,
      chunkSize,
      parallelUploads: parallel,
      metadata: { filename: `bench-${randomBytes(3).toString('hex')}.bin`, filetype: 'application/octet-stream' },
      retryDelays: retryDelays ?? null,
      ...(agent ? { httpStack: new tus.DefaultHttpStack({ agent }) } : {}),
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: false,
      onBeforeRequest(req) {
        if (isFinalPost(req)) finalSent = performance.now();
      },
      onAfterResponse(req) {
        if (isFinalPost(req)) finalAnswered = performance.now();
      },
      onSuccess() {
        clearTimeout(timer);
        resolve({
          url: upload.url!,
          ms: performance.now() - started,
          finalPostMs: finalSent !== undefined && finalAnswered !== undefined ? finalAnswered - finalSent : undefined,
        });
      },
      onError(error) {
        clearTimeout(timer);
        reject(error);
      },
    });
    const timer = setTimeout(() => {
      upload.abort(true).catch(() => {});
      reject(new Error(`tus-js-client upload of ${file} (parallel ${parallel}) not done after ${timeoutMs} ms`));
    }, timeoutMs);
    upload.start();
  });
}
