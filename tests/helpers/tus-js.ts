import fs from 'node:fs';
import * as tus from 'tus-js-client';

/**
 * tus-js-client (the Node build) as applications drive it: run an upload to its end, a parallel
 * upload (Concatenation) of a file, and an in-memory URL storage so two Upload instances can
 * share resume state.
 */

/**
 * Starts `upload` and resolves with its URL once it succeeds; rejects with its error, or after
 * `timeoutMs` (then the upload is aborted).
 */
export function runUpload(upload: tus.Upload, timeoutMs?: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
      void upload.abort();
      reject(new Error(`tus-js-client upload did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    upload.options.onSuccess = () => {
      clearTimeout(timer);
      resolve(upload.url!);
    };
    upload.options.onError = (error) => {
      clearTimeout(timer);
      reject(error);
    };
    upload.start();
  });
}

export type ParallelOptions = Omit<tus.UploadOptions, 'onSuccess' | 'onError'>;

/** A tus-js-client upload of the file at `file` (read as an fs.ReadStream), no retries unless given; resolves with the final URL. */
export function parallelUpload(file: string, options: ParallelOptions): Promise<string> {
  return runUpload(new tus.Upload(fs.createReadStream(file), { retryDelays: [], ...options }));
}

/** tus-js-client's URL storage, in memory: what a browser's localStorage would hold. */
export class MemoryUrlStorage implements tus.UrlStorage {
  private readonly entries = new Map<string, tus.PreviousUpload & { fingerprint: string }>();
  private counter = 0;

  async findAllUploads(): Promise<tus.PreviousUpload[]> {
    return [...this.entries.values()];
  }

  async findUploadsByFingerprint(fingerprint: string): Promise<tus.PreviousUpload[]> {
    return [...this.entries.values()].filter((entry) => entry.fingerprint === fingerprint);
  }

  async removeUpload(urlStorageKey: string): Promise<void> {
    this.entries.delete(urlStorageKey);
  }

  async addUpload(fingerprint: string, upload: tus.PreviousUpload): Promise<string> {
    const urlStorageKey = `tus::${fingerprint}::${++this.counter}`;
    // tus-js-client hands over its live array of partial URLs; store a copy, as localStorage would.
    this.entries.set(urlStorageKey, {
      ...upload,
      parallelUploadUrls: upload.parallelUploadUrls ? [...upload.parallelUploadUrls] : null,
      urlStorageKey,
      fingerprint,
    });
    return urlStorageKey;
  }
}
