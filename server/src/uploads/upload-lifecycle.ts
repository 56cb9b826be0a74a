import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { OffsetTracker } from './offset-tracker.js';
import type { NewUpload, UploadRepository } from './upload-repository.js';

/**
 * State changes of an upload that more than one code path triggers (tus hooks, the HEAD
 * reconciliation, the expiry job), kept in one place so they stay identical.
 */
export function createUploadLifecycle({ db, repository, offsets, logger }: {
  db: Database;
  repository: UploadRepository;
  offsets: OffsetTracker;
  logger: Logger;
}) {
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
      const changed = await db.transaction((tx) => repository.markReceived(id, size, tx));
      if (changed) logger.info('upload received', { uploadId: id, size });
    },

    /** A final upload's bytes are assembled: it is received like any finished upload. */
    async finalAssembled(id: string, size: number, consumePartials: boolean): Promise<void> {
      await db.transaction((tx) => repository.finishFinal(id, consumePartials, tx));
      logger.info('upload received', { uploadId: id, size, concatenated: true });
    },

    async terminated(id: string): Promise<void> {
      offsets.forget(id);
      await repository.markTerminated(id);
      logger.info('upload terminated', { uploadId: id });
    },
  };
}

export type UploadLifecycle = ReturnType<typeof createUploadLifecycle>;
