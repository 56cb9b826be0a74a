import { Readable } from 'node:stream';
import type { Storage } from '../storage/storage.js';
import { ServiceUnavailableError } from './outage.js';

/**
 * Storage that stops answering without closing anything — a hung S3 node, a dead NAT mapping, a
 * partitioned network — is an outage like a refused connection (issue 13, item 4), but nothing
 * would ever say so: the S3 client limits only the wait for a read's answer (S3_STALL_TIMEOUT_MS,
 * s3-request-handler.ts), never its body (a download may legitimately sit behind a slow client),
 * and disk has no limit at all, so a read would wait for ever and its file stay `processing` for good.
 * Worse, clamd, fed nothing meanwhile, would time out first and the file would be `rejected`.
 * Processing therefore reads through this guard: storage that keeps it waiting `stallMs` — for a
 * stream, or for the next bytes of one it asked for — fails with ServiceUnavailableError('storage'):
 * the file waits and is read again, no attempt spent. `stallMs` is kept below CLAMD_TIMEOUT_MS
 * (create-processing.ts), so a stalled read is never mistaken for a scan clamd could not finish.
 */
export function guardStorageStalls(storage: Storage, stallMs: number): Storage {
  const stalled = (what: string) => new ServiceUnavailableError('storage', `storage sent nothing for ${stallMs} ms (${what})`);
  return {
    ...storage,
    read: async (key, range) => {
      let timer: NodeJS.Timeout | undefined;
      const opening = storage.read(key, range);
      const gaveUp = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(stalled('no answer to the read')), stallMs);
      });
      try {
        return untilStalled(await Promise.race([opening, gaveUp]), stallMs, stalled);
      } catch (error) {
        // An answer that comes after all is not wanted any more: its connection goes back.
        opening.then((late) => late.destroy(), () => {});
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Half CLAMD_TIMEOUT_MS, between 5 and 30 s: long enough for any store that is working. */
export const storageStallMs = (clamdTimeoutMs: number) => Math.max(5_000, Math.min(30_000, Math.floor(clamdTimeoutMs / 2)));

/**
 * `source`, failing with `stalled()` when a read it was asked for brings nothing for `stallMs`.
 * Pulled: the time runs only while this stream wants bytes, never while its reader is busy
 * (a scanner or decoder applying backpressure).
 */
export function untilStalled(source: Readable, stallMs: number, stalled: (what: string) => Error): Readable {
  const chunks = source[Symbol.asyncIterator]();
  return new Readable({
    async read() {
      const timer = setTimeout(() => this.destroy(stalled('in the middle of the file')), stallMs);
      try {
        const next = await chunks.next();
        if (!this.destroyed) this.push(next.done ? null : (next.value as Buffer));
      } catch (error) {
        this.destroy(error as Error);
      } finally {
        clearTimeout(timer);
      }
    },
    destroy(error, callback) {
      source.destroy();
      callback(error);
    },
  });
}
