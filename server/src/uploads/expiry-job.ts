import type { Locker } from '@tus/utils';
import type { Logger } from '../logger.js';
import type { StatusEvents } from '../processing/status-events.js';
import type { Storage } from '../storage/storage.js';
import type { OffsetTracker } from './offset-tracker.js';
import type { Erasure } from './erasure.js';
import type { Retention } from './retention.js';
import type { StoredContents } from './stored-contents.js';
import type { UploadRepository } from './upload-repository.js';

const BATCH = 100;
/** Files expired by retention, and audit rows removed, per sweep: a backlog is worked off over several runs. */
const RETENTION_BATCH = 500;

/**
 * Removes unfinished uploads whose expiry has passed: the row is claimed (status → expired, so
 * requests for it answer 410 from then on), then its bytes are removed from storage. A removal
 * that fails is retried on the next sweep (purged_at stays NULL). Driven by the database rather
 * than by listing storage, so it only ever touches objects Haul created. The same sweep applies
 * retention (retention.ts): finished files whose time has come are expired and removed alike,
 * their previews and quarantined copies too, and old audit rows are deleted.
 */
export function createExpiryJob({ repository, retention, erasure, contents, storage, locker, offsets, events, logger, intervalMs, expiryMs }: {
  repository: UploadRepository;
  retention: Retention;
  /** Deduplication: a file lets go of its shared copy before its storage goes; removals left by a crash are finished. */
  contents: Pick<StoredContents, 'release' | 'runRemovals'>;
  /** Erasures an earlier process did not finish are finished here. */
  erasure: Pick<Erasure, 'resumeUnfinished'>;
  events: Pick<StatusEvents, 'publish'>;
  /** The tus locker: removal waits for (and asks to stop) a request still writing the upload. */
  locker: Locker;
  storage: Storage;
  offsets: OffsetTracker;
  logger: Logger;
  intervalMs: number;
  /** Uploads expire this long after creation; older storage with no live row is an orphan. */
  expiryMs: number;
}) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  async function purge(uploads: Array<{ id: string; storageKey: string }>): Promise<number> {
    let purged = 0;
    for (const upload of uploads) {
      offsets.forget(upload.id);
      try {
        const lock = locker.newLock(upload.storageKey);
        await lock.lock(AbortSignal.timeout(60_000), () => {});
        try {
          await contents.release(upload.id);
          await storage.remove(upload.storageKey);
          await storage.removeQuarantined(upload.storageKey);
        } finally {
          await lock.unlock();
        }
        await repository.markPurged(upload.id);
        purged++;
      } catch (err) {
        logger.warn('could not remove expired upload; will retry', { err, uploadId: upload.id });
      }
    }
    return purged;
  }

  /**
   * Storage the database does not account for as a live upload: an S3 multipart upload older
   * than the expiry period whose row is missing or no longer `uploading` (e.g. a crash between
   * steps). A finished upload's multipart upload is completed, so it is never listed.
   */
  function sweepOrphans(): Promise<number> {
    if (!storage.sweepAbandoned) return Promise.resolve(0);
    return storage.sweepAbandoned(new Date(Date.now() - expiryMs), async (key) => {
      const row = await repository.findByStorageKey(key);
      return row?.status === 'uploading' && (row.expiresAt?.getTime() ?? 0) > Date.now();
    });
  }

  async function sweep(): Promise<number> {
    let purged = await purge(await repository.listUnpurged(BATCH));
    for (;;) {
      const { changes, claimed } = await repository.claimExpired(BATCH);
      for (const change of changes) await events.publish(change.uploadId);
      purged += await purge(claimed);
      if (claimed.length < BATCH) break;
    }
    const retained = await retention.claim(RETENTION_BATCH);
    for (const change of retained.changes) await events.publish(change.uploadId);
    const retired = await purge(retained.claimed);
    const auditRows = await retention.pruneAudit(RETENTION_BATCH);
    await erasure.resumeUnfinished();
    const redundant = await contents.runRemovals(RETENTION_BATCH);
    const orphans = await sweepOrphans();
    if (purged + orphans > 0) logger.info('expired uploads removed', { count: purged, orphans });
    if (retired + auditRows > 0) logger.info('retention applied', { files: retired, auditRows });
    if (redundant > 0) logger.info('redundant stored files removed (deduplication)', { count: redundant });
    return purged + retired + orphans;
  }

  /** One sweep at a time per process; concurrent callers share it. */
  const runOnce = (): Promise<number> => {
    running ??= sweep().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    runOnce,
    start(): void {
      timer = setInterval(() => {
        runOnce().catch((err: unknown) => logger.warn('expiry sweep failed', { err }));
      }, intervalMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      await running?.catch(() => {});
    },
  };
}
