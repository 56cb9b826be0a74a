import { type MediaJson, NO_MEDIA, type ProcessingOutcomeStatus } from '@haul/api';
import type { Database, Queryable } from '../db/database.js';
import { toNumber } from '../db/database.js';
import type { ProcessingFindings, StatusChange } from '../uploads/status-change.js';
import type { UploadRepository } from '../uploads/upload-repository.js';

export interface StoredThumbnail {
  size: number;
  width: number;
  height: number;
  storageKey: string;
  bytes: number;
}

export interface ProcessingOutcome extends ProcessingFindings {
  status: ProcessingOutcomeStatus;
  reason: string | null;
  thumbnails: StoredThumbnail[];
  /** The upload JSON's `media` (NO_MEDIA for files that are not pictures, videos, sounds or PDFs). */
  media: MediaJson;
  /** Set when the served file's length differs from the uploaded one (location stripped from a PNG). */
  servedSize?: number;
}

/**
 * SQL of the processing pipeline. Its status changes go through the upload repository's
 * `changeStatus` (the one writer of `uploads.status`, which also appends to upload_events).
 */
export function createProcessingRepository(db: Database, uploads: Pick<UploadRepository, 'changeStatus'>) {
  /**
   * processing → its outcome, with what was learnt and the previews; undefined if no longer
   * processing. The previews are recorded before the status changes, so the change's hooks (the
   * webhook outbox) see the upload as clients will: complete.
   */
  async function finish(id: string, outcome: ProcessingOutcome, tx: Queryable): Promise<StatusChange | undefined> {
    const [row] = await tx.query(`SELECT status FROM uploads WHERE id = $1 FOR UPDATE`, [id]);
    if (row?.status !== 'processing') return undefined;
    for (const t of outcome.thumbnails) {
      await tx.query(
        `INSERT INTO thumbnails (upload_id, size, width, height, storage_key, bytes) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (upload_id, size) DO UPDATE SET width = $3, height = $4, storage_key = $5, bytes = $6`,
        [id, t.size, t.width, t.height, t.storageKey, t.bytes],
      );
    }
    const { width, height, durationMs, pages, placeholder } = outcome.media;
    await tx.query(
      `UPDATE uploads SET media_width = $2, media_height = $3, media_duration_ms = $4, media_pages = $5, media_placeholder = $6,
         size = COALESCE($7::bigint, size), upload_offset = COALESCE($7::bigint, upload_offset) WHERE id = $1`,
      [id, width, height, durationMs, pages, placeholder, outcome.servedSize ?? null],
    );
    const [change] = await uploads.changeStatus(tx, { ids: [id], to: outcome.status, reason: outcome.reason, findings: outcome });
    return change;
  }

  return {
    /**
     * received → processing. True also for a retry (already `processing`: nothing changes);
     * false if the upload is not waiting for processing (deleted, terminated, done already).
     */
    async markProcessing(id: string): Promise<boolean> {
      return db.transaction(async (tx) => {
        const [row] = await tx.query(`SELECT status, deleted_at FROM uploads WHERE id = $1 FOR UPDATE`, [id]);
        if (!row || row.deleted_at) return false;
        if (row.status === 'processing') return true;
        return (await uploads.changeStatus(tx, { ids: [id], to: 'processing' })).length > 0;
      });
    },

    /** Notes a failed attempt on an upload still being processed (the status stays). */
    async noteRetry(id: string, reason: string): Promise<void> {
      await db.query(`UPDATE uploads SET status_reason = $2, updated_at = now() WHERE id = $1 AND status = 'processing'`, [id, reason]);
    },

    finish,

    /**
     * The last attempt failed: → failed. An upload whose every attempt crashed before it was
     * marked `processing` goes through `processing` first, so its history stays a valid path.
     */
    async fail(id: string, reason: string, tx: Queryable): Promise<StatusChange | undefined> {
      await uploads.changeStatus(tx, { ids: [id], to: 'processing' });
      return finish(id, { status: 'failed', reason, detectedType: null, sha256: null, scanned: null, thumbnails: [], media: { ...NO_MEDIA } }, tx);
    },

    async thumbnailsOf(id: string, tx: Queryable = db): Promise<StoredThumbnail[]> {
      const rows = await tx.query(`SELECT size, width, height, storage_key, bytes FROM thumbnails WHERE upload_id = $1 ORDER BY size`, [id]);
      return rows.map((r) => ({
        size: toNumber(r.size), width: toNumber(r.width), height: toNumber(r.height), storageKey: r.storage_key as string, bytes: toNumber(r.bytes),
      }));
    },
  };
}

export type ProcessingRepository = ReturnType<typeof createProcessingRepository>;
