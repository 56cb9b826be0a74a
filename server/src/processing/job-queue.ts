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

    /**
     * The job due longest, or (`maxSize`: the express lane, worker.ts) the one of a file up to that
     * size. Never one of `held`: jobs this worker still has in hand — one whose lease ran out while
     * the database was unreachable is still this worker's to record (worker.ts), not a new attempt.
     * Nor is a job this worker claimed without hearing back (the database went away with the
     * answer): found again with its lease run out, it is taken without counting a second attempt.
     */
    async claim(workerId: string, leaseMs: number, maxSize?: number, held: readonly string[] = []): Promise<ClaimedJob | undefined> {
      const rows = await db.query(
        `UPDATE processing_jobs SET attempts = attempts + CASE WHEN locked_by = $1 THEN 0 ELSE 1 END, locked_by = $1,
           locked_until = now() + $2 * interval '1 millisecond'
         WHERE upload_id = (
           SELECT j.upload_id FROM processing_jobs j
           WHERE j.run_at <= now() AND (j.locked_until IS NULL OR j.locked_until < now())
             AND ($3::bigint IS NULL OR (SELECT coalesce(u.size, 0) FROM uploads u WHERE u.id = j.upload_id) <= $3::bigint)
             AND NOT (j.upload_id = ANY($4::text[]))
           ORDER BY j.run_at LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING upload_id, attempts`,
        [workerId, leaseMs, maxSize ?? null, [...held]],
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
     * the attempt the claim counted — outages cost time, never attempts. If the lease ran out
     * during a database outage and another worker claimed the job meanwhile, only the attempt is
     * given back: the job is that worker's now.
     */
    async waitForService(uploadId: string, workerId: string, error: string, delayMs: number): Promise<void> {
      await db.query(
        `UPDATE processing_jobs SET attempts = GREATEST(attempts - 1, 0), last_error = $2,
           run_at = CASE WHEN locked_by = $4 THEN now() + $3 * interval '1 millisecond' ELSE run_at END,
           locked_until = CASE WHEN locked_by = $4 THEN NULL ELSE locked_until END,
           locked_by = CASE WHEN locked_by = $4 THEN NULL ELSE locked_by END
         WHERE upload_id = $1`,
        [uploadId, error, delayMs, workerId],
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
