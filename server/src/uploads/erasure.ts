import type { Locker } from '@tus/utils';
import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import type { OffsetTracker } from './offset-tracker.js';
import type { StoredContents } from './stored-contents.js';

/** Uploads erased per database round trip. */
const BATCH = 50;

/**
 * Erasure of everything Haul keeps of a user (DELETE /api/users/me, or /api/users/<id> by a
 * service): every upload's bytes — finished files, previews, quarantined copies, unfinished
 * multipart data and `.part`/`.info` resume metadata (storage.remove) — then its rows (status
 * history, jobs, previews, undelivered webhooks with it), the user's quota, and their audit rows
 * anonymised (who, from where, with what: gone; that something happened: kept).
 *
 * Restartable: the request is recorded first (`user_erasures`), each upload's row is deleted only
 * after its storage is gone, and everything is idempotent — an erasure interrupted anywhere (a
 * crash, a storage outage) is finished by the next call or by the expiry sweep (`resumeUnfinished`).
 * The `user_erasures` row itself (user id, who asked, when, when done) is the record that the
 * erasure happened.
 */
export function createErasure({ db, storage, contents, locker, offsets, logger }: {
  db: Database;
  storage: Pick<Storage, 'remove' | 'removeQuarantined'>;
  /**
   * Deduplication: an upload lets go of its stored content first — a copy another user still
   * uses (DEDUP=global) moves off this user's keys instead of going.
   */
  contents: Pick<StoredContents, 'release'>;
  locker: Locker;
  offsets: Pick<OffsetTracker, 'forget'>;
  logger: Logger;
}) {
  async function eraseUpload(id: string, storageKey: string): Promise<void> {
    offsets.forget(id);
    // A request still writing to it is asked to stop first.
    const lock = locker.newLock(storageKey);
    await lock.lock(AbortSignal.timeout(60_000), () => {});
    try {
      await contents.release(id);
      await storage.remove(storageKey);
      await storage.removeQuarantined(storageKey);
    } finally {
      await lock.unlock();
    }
    await db.transaction(async (tx) => {
      // Processing may have made it a reference of a stored content since the release: then it
      // stays for the next pass (this erasure's next batch, or the sweep's), which releases it.
      const [row] = await tx.query(`SELECT content_id FROM uploads WHERE id = $1 FOR UPDATE`, [id]);
      if (row && row.content_id !== null) return;
      await tx.query(`UPDATE audit_log SET user_id = NULL, ip = NULL, user_agent = NULL, detail = NULL, upload_id = NULL WHERE upload_id = $1`, [id]);
      await tx.query(`DELETE FROM webhook_outbox WHERE upload_id = $1`, [id]);
      await tx.query(`DELETE FROM uploads WHERE id = $1`, [id]); // upload_events, processing_jobs, thumbnails cascade
    });
  }

  /** Erases what is left of `userId`'s data; resolves once nothing is. */
  async function run(userId: string): Promise<{ uploads: number }> {
    let erased = 0;
    for (;;) {
      const rows = await db.query(`SELECT id, storage_key FROM uploads WHERE owner_id = $1 ORDER BY created_at LIMIT $2`, [userId, BATCH]);
      for (const row of rows) await eraseUpload(row.id as string, row.storage_key as string);
      erased += rows.length;
      if (rows.length < BATCH) break;
    }
    await db.transaction(async (tx) => {
      await tx.query(`UPDATE audit_log SET user_id = NULL, ip = NULL, user_agent = NULL, detail = NULL WHERE user_id = $1`, [userId]);
      await tx.query(`DELETE FROM user_quotas WHERE user_id = $1`, [userId]);
      // Nothing new may have arrived meanwhile (an upload created during the erasure): then not done yet.
      const [left] = await tx.query(`SELECT count(*)::int AS n FROM uploads WHERE owner_id = $1`, [userId]);
      if (Number(left!.n) === 0) await tx.query(`UPDATE user_erasures SET finished_at = now() WHERE user_id = $1`, [userId]);
    });
    logger.info('user data erased', { uploads: erased });
    return { uploads: erased };
  }

  return {
    /** Records the request (again, if asked before) and carries it out. */
    async erase(userId: string, requestedBy: string): Promise<{ uploads: number }> {
      await db.query(
        `INSERT INTO user_erasures (user_id, requested_by) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET requested_by = EXCLUDED.requested_by, requested_at = now(), finished_at = NULL`,
        [userId, requestedBy],
      );
      return run(userId);
    },

    /** Finishes erasures an earlier process did not (called by the expiry sweep); returns how many. */
    async resumeUnfinished(limit = 10): Promise<number> {
      const rows = await db.query(`SELECT user_id FROM user_erasures WHERE finished_at IS NULL ORDER BY requested_at LIMIT $1`, [limit]);
      for (const row of rows) {
        await run(row.user_id as string).catch((err: unknown) => logger.warn('could not finish an erasure; will retry', { err }));
      }
      return rows.length;
    },
  };
}

export type Erasure = ReturnType<typeof createErasure>;
