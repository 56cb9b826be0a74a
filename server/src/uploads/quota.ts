import { HEADERS, type UsageJson } from '@haul/api';
import type { Database, Queryable } from '../db/database.js';
import { toNumber } from '../db/database.js';
import { HaulError } from '../errors.js';

/**
 * Per-user storage quotas (QUOTA_BYTES, or the limit the application's pre-create hook set for a
 * user, kept in `user_quotas`). A user's use is every byte Haul keeps for them: finished files
 * (rejected and quarantined ones too, until removed) and each unfinished upload by its declared
 * length — by its offset while the length is deferred, which the body limit then holds to the
 * room left (tus/body-limit.ts).
 *
 * A decision that lets bytes in (`admit`) runs in the transaction that records them (the new
 * row, the declared length, the final upload), after a per-user advisory lock: two uploads
 * created at once by one user cannot both take the last free bytes.
 */

/** Rows whose bytes are stored and count against their owner (an unfinished upload past its expiry no longer does). */
const STORED = `purged_at IS NULL AND deleted_at IS NULL AND status NOT IN ('concatenated', 'expired', 'terminated')
  AND NOT (status IN ('uploading', 'assembling') AND expires_at <= now())`;

const FINISHED = `status NOT IN ('uploading', 'assembling', 'part_received')`;

export interface QuotaAdmission {
  ownerId: string;
  /** Bytes about to be added. */
  bytes: number;
  /** Uploads whose bytes `bytes` replaces (a deferred upload's own offset, a final upload's consumed partials). */
  replacing?: readonly string[];
}

export function createQuotas({ db, defaultLimit }: { db: Database; defaultLimit: number | undefined }) {
  async function limitOf(ownerId: string, q: Queryable): Promise<number | null> {
    const [row] = await q.query(`SELECT quota_bytes FROM user_quotas WHERE user_id = $1`, [ownerId]);
    return row ? toNumber(row.quota_bytes) : (defaultLimit ?? null);
  }

  async function usedBy(ownerId: string, q: Queryable, replacing: readonly string[] = []) {
    const [row] = await q.query(
      `SELECT COALESCE(SUM(COALESCE(size, upload_offset)), 0) AS used,
              count(*) FILTER (WHERE ${FINISHED} AND concat_role IS DISTINCT FROM 'partial') AS files
         FROM uploads WHERE owner_id = $1 AND ${STORED} AND NOT (id = ANY($2::text[]))`,
      [ownerId, replacing],
    );
    return { used: toNumber(row!.used), files: toNumber(row!.files) };
  }

  /** Room left for `ownerId` besides `replacing`; undefined without a quota. */
  async function room(ownerId: string, q: Queryable, replacing?: readonly string[]): Promise<number | undefined> {
    const limit = await limitOf(ownerId, q);
    if (limit === null) return undefined;
    return Math.max(0, limit - (await usedBy(ownerId, q, replacing)).used);
  }

  /**
   * Bytes deduplication saves the owner (uploads/stored-contents.ts): the size of their stored
   * files that reference a content, less each such content once. Only their own duplicates count:
   * with DEDUP=global a file that matched another user's saves nothing here, so the figure says
   * nothing about what others store. Quotas count logical bytes (`used`), whatever is saved.
   */
  async function savedBy(ownerId: string, q: Queryable): Promise<number> {
    const [row] = await q.query(
      `WITH refs AS (SELECT content_id, size FROM uploads WHERE owner_id = $1 AND content_id IS NOT NULL AND ${STORED})
       SELECT COALESCE((SELECT SUM(size) FROM refs), 0)
            - COALESCE((SELECT SUM(c.size) FROM stored_contents c WHERE c.id IN (SELECT content_id FROM refs)), 0) AS saved`,
      [ownerId],
    );
    return Math.max(0, toNumber(row!.saved));
  }

  return {
    async usage(ownerId: string): Promise<UsageJson> {
      const [limit, { used, files }, savedBytes] = await Promise.all([limitOf(ownerId, db), usedBy(ownerId, db), savedBy(ownerId, db)]);
      return { used, limit, remaining: limit === null ? null : Math.max(0, limit - used), files, savedBytes };
    },

    /** How many more bytes a deferred-length upload may receive before its length is declared. */
    roomFor: (ownerId: string, uploadId: string) => room(ownerId, db, [uploadId]),

    /** The application's limit for this user, from now on (the pre-create hook's `quotaBytes`). */
    async setLimit(ownerId: string, bytes: number): Promise<void> {
      await db.query(
        `INSERT INTO user_quotas (user_id, quota_bytes) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET quota_bytes = EXCLUDED.quota_bytes, updated_at = now()
         WHERE user_quotas.quota_bytes IS DISTINCT FROM EXCLUDED.quota_bytes`,
        [ownerId, bytes],
      );
    },

    /**
     * Inside the transaction that records the new bytes: refuses them (413 QUOTA_EXCEEDED, saying
     * how much is left) if they would take the owner past their quota. Exactly reaching it is allowed.
     */
    async admit(tx: Queryable, { ownerId, bytes, replacing }: QuotaAdmission): Promise<void> {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('haul:quota:' || $1, 0))`, [ownerId]);
      const left = await room(ownerId, tx, replacing);
      if (left === undefined || bytes <= left) return;
      throw quotaExceeded(bytes, left);
    },
  };
}

export type Quotas = ReturnType<typeof createQuotas>;

export const quotaExceeded = (bytes: number, left: number) =>
  new HaulError('QUOTA_EXCEEDED', `This upload needs ${bytes} bytes; ${left} bytes are left of your storage quota`, {
    headers: { [HEADERS.quotaRemaining]: String(left) },
  });
