import type { Database, Queryable } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { JobQueue } from '../processing/job-queue.js';
import type { ProcessingRepository } from '../processing/processing-repository.js';
import type { StatusEvents } from '../processing/status-events.js';
import type { OffsetTracker } from './offset-tracker.js';
import type { NewUpload, UploadRepository } from './upload-repository.js';

/**
 * State changes of an upload that more than one code path triggers (tus hooks, the HEAD
 * reconciliation, the expiry job), kept in one place so they stay identical.
 */
export function createUploadLifecycle({ db, repository, offsets, jobs, processing, events, logger }: {
  db: Database;
  repository: UploadRepository;
  offsets: OffsetTracker;
  jobs: JobQueue;
  processing: Pick<ProcessingRepository, 'recordEvent'>;
  events: StatusEvents;
  logger: Logger;
}) {
  /** Received: recorded and scheduled for processing in the caller's transaction. */
  const received = async (id: string, tx: Queryable) => {
    await processing.recordEvent(tx, id, 'received', null);
    await jobs.enqueue(id, tx);
  };

  return {
    created(upload: NewUpload): Promise<void> {
      return repository.insert(upload);
    },

    /**
     * All bytes are in storage: record it. Idempotent, because a client whose final PATCH
     * response was lost learns completion from a HEAD, which calls this again.
     */
    async finished(id: string, size: number): Promise<void> {
      offsets.forget(id);
      const status = await db.transaction(async (tx) => {
        const next = await repository.markReceived(id, size, tx);
        if (next === 'received') await received(id, tx);
        return next;
      });
      if (status) logger.info(status === 'received' ? 'upload received' : 'partial upload received', { uploadId: id, size });
      if (status === 'received') await events.publish(id);
    },

    /** A final upload's bytes are assembled: it is received like any finished upload. */
    async finalAssembled(id: string, size: number, consumePartials: boolean): Promise<void> {
      await db.transaction(async (tx) => {
        await repository.finishFinal(id, consumePartials, tx);
        await received(id, tx);
      });
      logger.info('upload received', { uploadId: id, size, concatenated: true });
      await events.publish(id);
    },

    async terminated(id: string): Promise<void> {
      offsets.forget(id);
      await repository.markTerminated(id);
      logger.info('upload terminated', { uploadId: id });
    },
  };
}

export type UploadLifecycle = ReturnType<typeof createUploadLifecycle>;
