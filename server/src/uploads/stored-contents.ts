import { randomBytes } from 'node:crypto';
import type { Database, Queryable } from '../db/database.js';
import { toNumber } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';

/**
 * Deduplication by SHA-256 (DEDUP, README "Deduplication"). A `ready` file whose served bytes are
 * already stored in its domain — its owner's files (`owner`), or everyone's (`global`) — keeps no
 * copy of its own: `adopt`, in the transaction that records the outcome, points the upload at the
 * stored content (`uploads.content_id`) and schedules its own bytes for removal. The uploads that
 * point at a content are its references; bytes go when the last one does.
 *
 * Crash safety comes from one rule: every object that becomes redundant is written down
 * (`storage_removals`) in the transaction that makes it redundant, and removed after the commit
 * by `runRemovals` — called at once, and again by every expiry sweep — which never removes a key
 * a `stored_contents` row still names. So a crash leaves a removal to finish, never an orphan, and
 * nothing in use is ever removed.
 *
 * `release` runs before an upload's own storage goes (files API delete, tus termination,
 * retention and expiry, erasure). When the upload going is the one whose key holds the copy while
 * others still use it, the copy first moves to a key of its own (`content/<random>`: a hard link
 * on disk, a copy inside S3), adopted in one transaction, so the departing upload's key — under
 * its owner's prefix — can go whole. Every step is idempotent and re-run from the database's
 * state: an interrupted release is finished by the retry of whatever called it.
 */

export type DedupMode = 'owner' | 'global' | 'off';

/** A copy made for a move is removed this long after it was started unless the move adopted it. */
const UNADOPTED_COPY_GRACE_MS = 3600_000;
/** A removal that failed (storage unreachable) is due again after this long. */
const REMOVAL_RETRY_MS = 60_000;

export interface Adoptable {
  id: string;
  ownerId: string;
  storageKey: string;
  sha256: string;
  size: number;
}

/** A release's step: done (having scheduled a removal or not), or a move to make first. */
export type ReleaseStep = { done: true; scheduled: boolean } | { move: { contentId: number; from: string } };

export function createStoredContents({ db, storage, mode, logger, now = () => new Date() }: {
  db: Database;
  storage: Pick<Storage, 'copy' | 'removeFile' | 'layout'>;
  mode: DedupMode;
  logger: Logger;
  /** The clock removals are due by (a fake one in tests). */
  now?: () => Date;
}) {
  const domainOf = (ownerId: string) => (mode === 'global' ? 'global' : `owner:${ownerId}`);

  /**
   * Inside the transaction that makes `upload` ready: it becomes a reference of the content with
   * its hash in its domain — the first one (its own key holds the copy) or another (its bytes are
   * scheduled for removal; that key is returned, for `runRemovals` after the commit). The unique
   * (domain, sha256) makes concurrent identical files converge on one row: an INSERT racing
   * another waits for it and then finds its row.
   */
  async function adopt(tx: Queryable, upload: Adoptable): Promise<string | undefined> {
    if (mode === 'off') return undefined;
    // Deleted while it was processed (the files API's soft delete waits for this transaction's
    // row lock, or this one saw it): its removal has already let go of everything; take nothing.
    const [current] = await tx.query(`SELECT deleted_at FROM uploads WHERE id = $1 FOR UPDATE`, [upload.id]);
    if (!current || current.deleted_at !== null) return undefined;
    const domain = domainOf(upload.ownerId);
    for (let attempt = 0; attempt < 5; attempt++) {
      const [inserted] = await tx.query(
        `INSERT INTO stored_contents (domain, sha256, size, storage_key) VALUES ($1, $2, $3, $4)
         ON CONFLICT (domain, sha256) DO NOTHING RETURNING id`,
        [domain, upload.sha256, upload.size, upload.storageKey],
      );
      if (inserted) {
        await tx.query(`UPDATE uploads SET content_id = $2 WHERE id = $1`, [upload.id, inserted.id]);
        return undefined;
      }
      // Locked: a release deciding whether this content still has references waits for us (and we for it).
      const [existing] = await tx.query(`SELECT id, size, storage_key FROM stored_contents WHERE domain = $1 AND sha256 = $2 FOR UPDATE`, [domain, upload.sha256]);
      if (!existing) continue; // its last reference went in between: try to store it again
      if (existing.storage_key === upload.storageKey) return undefined; // adopted already (a step run twice): it holds the copy
      if (toNumber(existing.size) !== upload.size) {
        logger.error('same SHA-256, different size: not deduplicated', { uploadId: upload.id, sha256: upload.sha256 });
        return undefined;
      }
      await tx.query(`UPDATE uploads SET content_id = $2 WHERE id = $1`, [upload.id, existing.id]);
      await tx.query(
        `INSERT INTO storage_removals (storage_key, reason, not_before) VALUES ($1, 'duplicate of a stored content', $2::timestamptz)
         ON CONFLICT (storage_key) DO NOTHING`,
        [upload.storageKey, now().toISOString()],
      );
      return upload.storageKey;
    }
    throw new Error('deduplication did not settle; the processing job is retried');
  }

  /**
   * One step of letting `uploadId` go of its content, in one transaction with the content row
   * locked: nothing to do; the last reference (the content row goes, and its copy if it lives
   * elsewhere than the upload's own key, which its caller removes); one of several, not holding
   * the copy (only the reference goes); or the holder of a copy others still use (a move first).
   */
  function releaseStep(uploadId: string): Promise<ReleaseStep> {
    return db.transaction(async (tx): Promise<ReleaseStep> => {
      const [row] = await tx.query(
        `SELECT u.storage_key AS own_key, c.id AS content_id, c.storage_key AS content_key
           FROM uploads u JOIN stored_contents c ON c.id = u.content_id WHERE u.id = $1 FOR UPDATE OF c`,
        [uploadId],
      );
      if (!row) return { done: true, scheduled: false };
      const contentId = toNumber(row.content_id);
      const [others] = await tx.query(`SELECT count(*)::int AS n FROM uploads WHERE content_id = $1 AND id <> $2`, [contentId, uploadId]);
      const holdsCopy = row.content_key === row.own_key;
      if (toNumber(others!.n) > 0 && holdsCopy) return { move: { contentId, from: row.own_key as string } };
      await tx.query(`UPDATE uploads SET content_id = NULL WHERE id = $1`, [uploadId]);
      if (toNumber(others!.n) === 0) {
        await tx.query(`DELETE FROM stored_contents WHERE id = $1`, [contentId]);
        if (!holdsCopy) {
          await tx.query(
            `INSERT INTO storage_removals (storage_key, reason, not_before) VALUES ($1, 'last reference gone', $2::timestamptz)
             ON CONFLICT (storage_key) DO NOTHING`,
            [row.content_key, now().toISOString()],
          );
        }
        return { done: true, scheduled: !holdsCopy };
      }
      return { done: true, scheduled: false };
    });
  }

  /**
   * Moves a content's copy off the key of the upload that is going. The new key is recorded as a
   * removal first (due after a grace period), so a crash after the copy leaves a removal, not an
   * orphan; the transaction that adopts the copy deletes that row — and finds it gone if the copy
   * was removed meanwhile (then nothing changes, and the caller's next step copies again).
   */
  async function move(contentId: number, from: string): Promise<void> {
    const to = storage.layout.contentKey(randomBytes(16).toString('base64url'));
    await db.query(
      `INSERT INTO storage_removals (storage_key, reason, not_before) VALUES ($1, 'copy of a moving content, not adopted yet', $2::timestamptz)`,
      [to, new Date(now().getTime() + UNADOPTED_COPY_GRACE_MS).toISOString()],
    );
    await storage.copy(from, to);
    await db.transaction(async (tx) => {
      const [content] = await tx.query(`SELECT storage_key FROM stored_contents WHERE id = $1 FOR UPDATE`, [contentId]);
      if (content?.storage_key !== from) return; // moved or gone meanwhile: our copy stays scheduled for removal
      const adopted = await tx.query(`DELETE FROM storage_removals WHERE storage_key = $1 RETURNING storage_key`, [to]);
      if (adopted.length === 0) return;
      await tx.query(`UPDATE stored_contents SET storage_key = $2 WHERE id = $1`, [contentId, to]);
    });
  }

  /**
   * Lets `uploadId` go of its content (no-op without one), so its own storage (`storage.remove`
   * of its key) may then go whole. Resolves once it no longer references anything.
   */
  async function release(uploadId: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const step = await releaseStep(uploadId);
      if ('done' in step) {
        if (!step.scheduled) return;
        await runRemovals().catch((err: unknown) => logger.warn('could not remove redundant stored files; the expiry sweep retries', { err }));
        return;
      }
      await move(step.move.contentId, step.move.from);
    }
    throw new Error(`could not release the stored content of upload ${uploadId}; will retry`);
  }

  /**
   * Removes up to `limit` stored files written down as redundant and due, one per transaction
   * holding its row: a move adopting the same key waits, then finds the row gone. A removal that
   * fails is due again a minute later (the others go on). Returns how many rows were settled.
   * Several instances may run it at once (SKIP LOCKED).
   */
  async function runRemovals(limit = 100): Promise<number> {
    let settled = 0;
    for (let tries = 0; tries < limit; tries++) {
      let key: string | undefined;
      try {
        const more = await db.transaction(async (tx) => {
          const [row] = await tx.query(
            `SELECT storage_key FROM storage_removals WHERE not_before <= $1::timestamptz ORDER BY not_before LIMIT 1 FOR UPDATE SKIP LOCKED`,
            [now().toISOString()],
          );
          if (!row) return false;
          key = row.storage_key as string;
          const [inUse] = await tx.query(`SELECT 1 FROM stored_contents WHERE storage_key = $1`, [key]);
          if (!inUse) await storage.removeFile(key);
          await tx.query(`DELETE FROM storage_removals WHERE storage_key = $1`, [key]);
          return true;
        });
        if (!more) break;
        settled++;
      } catch (err) {
        if (key === undefined) throw err; // the database, not the removal
        logger.warn('could not remove a redundant stored file; retried in a minute', { err });
        await db.query(`UPDATE storage_removals SET not_before = $2::timestamptz WHERE storage_key = $1`, [key, new Date(now().getTime() + REMOVAL_RETRY_MS).toISOString()]);
      }
    }
    return settled;
  }

  return { mode, adopt, release, runRemovals };
}

export type StoredContents = ReturnType<typeof createStoredContents>;
