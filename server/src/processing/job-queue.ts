import type { Database, Queryable } from '../db/database.js';
import { toNumber } from '../db/database.js';

export interface ClaimedJob {
  uploadId: string;
  /** Including this one. */
  attempt: number;
}

/**
 * The processing queue: one row per upload in `processing_jobs`, claimed with a lease. A worker
 * that dies keeps its claim only until `locked_until`; then the job is due again and another
 * worker's claim (FOR UPDATE SKIP LOCKED) picks it up. One SQL statement per operation.
 */
export function createJobQueue(db: Database) {
  return {
    /** In the caller's transaction, so a finished upload and its job are recorded together. */
    async enqueue(uploadId: string, tx: Queryable): Promise<void> {
      await tx.query(`INSERT INTO processing_jobs (upload_id) VALUES ($1) ON CONFLICT (upload_id) DO NOTHING`, [uploadId]);
    },

    /** The job due longest, or (`maxSize`: the express lane, worker.ts) the one of a file up to that size. */
    async claim(workerId: string, leaseMs: number, maxSize?: number): Promise<ClaimedJob | undefined> {
      const rows = await db.query(
        `UPDATE processing_jobs SET attempts = attempts + 1, locked_by = $1,
           locked_until = now() + $2 * interval '1 millisecond'
         WHERE upload_id = (
           SELECT j.upload_id FROM processing_jobs j
           WHERE j.run_at <= now() AND (j.locked_until IS NULL OR j.locked_until < now())
             AND ($3::bigint IS NULL OR (SELECT coalesce(u.size, 0) FROM uploads u WHERE u.id = j.upload_id) <= $3::bigint)
           ORDER BY j.run_at LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING upload_id, attempts`,
        [workerId, leaseMs, maxSize ?? null],
      );
      const row = rows[0];
      return row ? { uploadId: row.upload_id as string, attempt: toNumber(row.attempts) } : undefined;
    },

    /** Heartbeat: keeps the lease while a long file is processed. False if the lease was lost. */
    async extend(uploadId: string, workerId: string, leaseMs: number): Promise<boolean> {
      const rows = await db.query(
        `UPDATE processing_jobs SET locked_until = now() + $3 * interval '1 millisecond'
         WHERE upload_id = $1 AND locked_by = $2 RETURNING upload_id`,
        [uploadId, workerId, leaseMs],
      );
      return rows.length > 0;
    },

    async complete(uploadId: string, tx: Queryable): Promise<void> {
      await tx.query(`DELETE FROM processing_jobs WHERE upload_id = $1`, [uploadId]);
    },

    /**
     * A service the file needs is unreachable (outage.ts): try again after `delayMs`, giving back
     * the attempt the claim counted — outages cost time, never attempts.
     */
    async waitForService(uploadId: string, error: string, delayMs: number): Promise<void> {
      await db.query(
        `UPDATE processing_jobs SET attempts = GREATEST(attempts - 1, 0), run_at = now() + $3 * interval '1 millisecond',
           locked_until = NULL, locked_by = NULL, last_error = $2
         WHERE upload_id = $1`,
        [uploadId, error, delayMs],
      );
    },

    async retryLater(uploadId: string, error: string, delayMs: number): Promise<void> {
      await db.query(
        `UPDATE processing_jobs SET run_at = now() + $3 * interval '1 millisecond', locked_until = NULL,
           locked_by = NULL, last_error = $2
         WHERE upload_id = $1`,
        [uploadId, error, delayMs],
      );
    },
  };
}

export type JobQueue = ReturnType<typeof createJobQueue>;
