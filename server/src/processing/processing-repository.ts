import type { ProcessingOutcomeStatus } from '@haul/api';
import type { Database, Queryable } from '../db/database.js';
import { toNumber } from '../db/database.js';

export interface StoredThumbnail {
  size: number;
  width: number;
  height: number;
  storageKey: string;
  bytes: number;
}

export interface ProcessingOutcome {
  status: ProcessingOutcomeStatus;
  reason: string | null;
  detectedType: string | null;
  sha256: string | null;
  scanned: boolean | null;
  thumbnails: StoredThumbnail[];
}

/** SQL of the processing pipeline's status changes; each also appends to upload_events. */
export function createProcessingRepository(db: Database) {
  const event = (tx: Queryable, id: string, status: string, reason: string | null) =>
    tx.query(`INSERT INTO upload_events (upload_id, status, reason) VALUES ($1, $2, $3)`, [id, status, reason]);

  return {
    recordEvent: event,

    /** received (or a retry of processing) → processing; false if the upload is not waiting for it. */
    async markProcessing(id: string, note: string | null): Promise<boolean> {
      return db.transaction(async (tx) => {
        const [row] = await tx.query(`SELECT status, deleted_at FROM uploads WHERE id = $1 FOR UPDATE`, [id]);
        if ((row?.status !== 'received' && row?.status !== 'processing') || row.deleted_at) return false;
        await tx.query(`UPDATE uploads SET status = 'processing', status_reason = $2, updated_at = now() WHERE id = $1`, [id, note]);
        if (row.status === 'received') await event(tx, id, 'processing', note);
        return true;
      });
    },

    async noteRetry(id: string, reason: string): Promise<void> {
      await db.query(`UPDATE uploads SET status_reason = $2, updated_at = now() WHERE id = $1 AND status = 'processing'`, [id, reason]);
    },

    /** processing → a terminal status, with everything learnt about the file, in one transaction. */
    async finish(id: string, outcome: ProcessingOutcome, tx: Queryable): Promise<void> {
      await tx.query(
        `UPDATE uploads SET status = $2, status_reason = $3, detected_type = $4, sha256 = $5, scanned = $6,
           processed_at = now(), updated_at = now()
         WHERE id = $1`,
        [id, outcome.status, outcome.reason, outcome.detectedType, outcome.sha256, outcome.scanned],
      );
      for (const t of outcome.thumbnails) {
        await tx.query(
          `INSERT INTO thumbnails (upload_id, size, width, height, storage_key, bytes) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (upload_id, size) DO UPDATE SET width = $3, height = $4, storage_key = $5, bytes = $6`,
          [id, t.size, t.width, t.height, t.storageKey, t.bytes],
        );
      }
      await event(tx, id, outcome.status, outcome.reason);
    },

    async thumbnailsOf(id: string): Promise<StoredThumbnail[]> {
      const rows = await db.query(`SELECT size, width, height, storage_key, bytes FROM thumbnails WHERE upload_id = $1 ORDER BY size`, [id]);
      return rows.map((r) => ({
        size: toNumber(r.size), width: toNumber(r.width), height: toNumber(r.height), storageKey: r.storage_key as string, bytes: toNumber(r.bytes),
      }));
    },
  };
}

export type ProcessingRepository = ReturnType<typeof createProcessingRepository>;
