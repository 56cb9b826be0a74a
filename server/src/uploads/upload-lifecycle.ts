import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { UploadMetrics } from '../metrics/metrics.js';
import type { JobQueue } from '../processing/job-queue.js';
import type { StatusEvents } from '../processing/status-events.js';
import type { OffsetTracker } from './offset-tracker.js';
import type { Quotas } from './quota.js';
import type { StatusChange } from './status-change.js';
import type { NewUpload, UploadRepository } from './upload-repository.js';

/**
 * State changes of an upload that more than one code path triggers (tus hooks, the HEAD
 * reconciliation, the files API, the expiry job), kept in one place so they stay identical: the
 * status change (with its event and hooks) and any follow-up job in one transaction, watchers
 * notified after it commits.
 */
export function createUploadLifecycle({ db, repository, quotas, offsets, jobs, events, logger, metrics, onPartReceived }: {
  db: Database;
  repository: UploadRepository;
  quotas: Pick<Quotas, 'admit'>;
  offsets: OffsetTracker;
  jobs: Pick<JobQueue, 'enqueue'>;
  events: Pick<StatusEvents, 'publish'>;
  logger: Logger;
  /** Counted once per upload, after the change committed (a repeated `finished` counts nothing). */
  metrics?: UploadMetrics;
  /**
   * After a partial upload's `part_received` commits: a final upload waiting for it may now be
   * complete (tus concatenation-unfinished, uploads/final-upload.ts `partialReceived`).
   */
  onPartReceived?: (partialId: string) => Promise<void>;
}) {
  /** Tells watchers (SSE) about committed changes. */
  const publish = async (changes: readonly StatusChange[]) => {
    for (const change of changes) await events.publish(change.uploadId);
  };

  return {
    /** A new upload, counted against its owner's quota by its declared length (0 while deferred). */
    async created(upload: NewUpload): Promise<void> {
      await db.transaction(async (tx) => {
        await quotas.admit(tx, { ownerId: upload.ownerId, bytes: upload.size ?? 0 });
        await repository.insert(upload, tx);
      });
      metrics?.uploadsCreated.inc();
    },

    /** Creation Defer Length: the length declared later, counted against the quota from now on (in place of the offset). */
    lengthDeclared(upload: { id: string; ownerId: string }, size: number): Promise<void> {
      return db.transaction(async (tx) => {
        await quotas.admit(tx, { ownerId: upload.ownerId, bytes: size, replacing: [upload.id] });
        await repository.setSize(upload.id, size, tx);
      });
    },

    /**
     * All bytes are in storage: record it, and schedule processing of a received file in the
     * same transaction. Idempotent, because a client whose final PATCH response was lost learns
     * completion from a HEAD, which calls this again.
     */
    async finished(id: string, size: number): Promise<void> {
      offsets.forget(id);
      const change = await db.transaction(async (tx) => {
        const received = await repository.markReceived(id, size, tx);
        if (received?.to === 'received') await jobs.enqueue(id, tx);
        return received;
      });
      if (!change) return;
      metrics?.uploadsFinished.inc();
      logger.info(change.to === 'received' ? 'upload received' : 'partial upload received', { uploadId: id, size });
      await publish([change]);
      if (change.to === 'part_received' && onPartReceived) {
        // The partial is recorded either way; a final upload not started here expires with its partials.
        await onPartReceived(id).catch((err: unknown) => logger.error('could not start a waiting final upload', { err, uploadId: id }));
      }
    },

    /**
     * A final upload's bytes are assembled: it is received like any finished upload (and its
     * partials, unless kept, are concatenated). Throws if the final upload was swept as
     * abandoned meanwhile: the partials must then stay, for the client's next attempt.
     */
    async finalAssembled(id: string, size: number, consumePartials: boolean): Promise<void> {
      const changes = await db.transaction(async (tx) => {
        const finished = await repository.finishFinal(id, size, consumePartials, tx);
        if (finished.length > 0) await jobs.enqueue(id, tx);
        return finished;
      });
      if (changes.length === 0) throw new Error(`final upload ${id} is no longer being assembled (it was swept as abandoned)`);
      metrics?.uploadsFinished.inc();
      logger.info('upload received', { uploadId: id, size, concatenated: true });
      await publish(changes);
    },

    /** Refused from its first bytes: rejected with the reason (storage already removed), its watchers told. */
    async refused(id: string, reason: string, detectedType: string | null): Promise<void> {
      offsets.forget(id);
      const changes = await repository.markRefused(id, reason, detectedType);
      if (changes.length > 0) logger.info('upload refused from its first bytes', { uploadId: id, reason });
      await publish(changes);
    },

    async terminated(id: string): Promise<void> {
      offsets.forget(id);
      const changes = await repository.markTerminated(id);
      if (changes.length > 0) {
        metrics?.uploadsTerminated.inc();
        logger.info('upload terminated', { uploadId: id, from: changes[0]!.from });
      }
      await publish(changes);
    },
  };
}

export type UploadLifecycle = ReturnType<typeof createUploadLifecycle>;
