import type { Logger } from '../logger.js';
import type { UploadRepository } from './upload-repository.js';

/**
 * Keeps `uploads.upload_offset` close to the truth without a query per chunk: offsets reported
 * while bytes arrive are buffered and written in one statement per interval. The stored offset
 * is informational (listings, progress); the tus offset always comes from storage.
 */
export function createOffsetTracker({ repository, intervalMs, logger }: {
  repository: Pick<UploadRepository, 'recordOffsets'>;
  intervalMs: number;
  logger: Logger;
}) {
  let pending = new Map<string, number>();
  let flushing: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (pending.size === 0) return flushing;
    const batch = pending;
    pending = new Map();
    flushing = flushing
      .then(() => repository.recordOffsets(batch))
      .catch((err: unknown) => {
        logger.warn('could not record upload offsets; will retry', { err, count: batch.size });
        for (const [id, offset] of batch) if ((pending.get(id) ?? -1) < offset) pending.set(id, offset);
      });
    return flushing;
  };

  const timer = setInterval(() => void flush(), intervalMs);
  timer.unref();

  return {
    note(id: string, offset: number): void {
      if ((pending.get(id) ?? -1) < offset) pending.set(id, offset);
    },
    forget(id: string): void {
      pending.delete(id);
    },
    flush,
    async stop(): Promise<void> {
      clearInterval(timer);
      await flush();
    },
  };
}

export type OffsetTracker = ReturnType<typeof createOffsetTracker>;
