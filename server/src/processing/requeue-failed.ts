import type { Database } from '../db/database.js';
import type { UploadRepository } from '../uploads/upload-repository.js';
import type { JobQueue } from './job-queue.js';

export const REQUEUED = 'requeued by an operator';

/**
 * Gives failed uploads another run through processing (`npm run requeue-failed`): for files that
 * failed before outages stopped costing attempts (issue 13, item 4), or after an outage longer
 * than anything expected. failed → processing (the one transition out of `failed` besides
 * termination, for this command only), and a fresh job with all its attempts, in one transaction.
 * `ids` limits it to those uploads; `failedAfter` to uploads that failed since then.
 */
export async function requeueFailed(
  { db, uploads, jobs }: { db: Database; uploads: Pick<UploadRepository, 'changeStatus'>; jobs: Pick<JobQueue, 'enqueue'> },
  { ids, failedAfter }: { ids?: readonly string[]; failedAfter?: Date } = {},
): Promise<string[]> {
  return db.transaction(async (tx) => {
    const rows = await tx.query(
      `SELECT id FROM uploads WHERE status = 'failed' AND deleted_at IS NULL
         AND ($1::text[] IS NULL OR id = ANY($1::text[])) AND ($2::timestamptz IS NULL OR processed_at >= $2::timestamptz)`,
      [ids ? [...ids] : null, failedAfter?.toISOString() ?? null],
    );
    const changes = await uploads.changeStatus(tx, { ids: rows.map((r) => r.id as string), to: 'processing', reason: REQUEUED });
    for (const change of changes) await jobs.enqueue(change.uploadId, tx);
    return changes.map((c) => c.uploadId);
  });
}
