// Uploads a file with tus-js-client (the Node build), the way an application would, and times it.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import * as tus from 'tus-js-client';

const now = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Uploads `file` (an fs.ReadStream source, so parallel slices read the file independently) to
 * `endpoint`. `parallel` > 1 uses tus Concatenation: that many partial uploads at once, then a
 * final POST (Upload-Concat: final;…). No retries: a failure fails the measurement.
 * Returns the upload URL, the wall time from start() to onSuccess, and — for parallel uploads —
 * the client-side time of the final POST (request sent → response received).
 */
export function tusJsUpload({ endpoint, file, headers = {}, parallel = 1, chunkSize, timeoutMs = 30 * 60_000 }) {
  return new Promise((resolve, reject) => {
    let finalSent;
    let finalAnswered;
    const isFinalPost = (req) => req.getMethod() === 'POST' && String(req.getHeader('Upload-Concat') ?? '').startsWith('final');
    const metadata = { filename: `bench-${randomBytes(3).toString('hex')}.bin`, filetype: 'application/octet-stream' };
    let upload;
    const timer = setTimeout(() => {
      upload?.abort(true).catch(() => {});
      reject(new Error(`tus-js-client upload of ${file} (parallel ${parallel}) not done after ${timeoutMs} ms`));
    }, timeoutMs);
    const started = now();
    upload = new tus.Upload(fs.createReadStream(file), {
      endpoint,
      headers,
      chunkSize,
      parallelUploads: parallel,
      metadata,
      retryDelays: null,
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: false,
      onBeforeRequest(req) {
        if (isFinalPost(req)) finalSent = now();
      },
      onAfterResponse(req) {
        if (isFinalPost(req)) finalAnswered = now();
      },
      onSuccess() {
        clearTimeout(timer);
        resolve({
          url: upload.url,
          ms: now() - started,
          finalPostMs: finalSent !== undefined && finalAnswered !== undefined ? finalAnswered - finalSent : undefined,
        });
      },
      onError(error) {
        clearTimeout(timer);
        reject(error);
      },
    });
    upload.start();
  });
}
