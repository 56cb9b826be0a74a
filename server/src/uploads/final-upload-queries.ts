import type { Database, Queryable } from '../db/database.js';
import type { StatusChange } from './status-change.js';
import { COLUMNS, toRecord, type UploadRecord, type UploadRepository } from './upload-repository.js';

/**
 * The SQL of final uploads that wait for their partials (tus concatenation-unfinished) and of
 * asking for the same final upload twice, beside upload-repository.ts (which keeps every other
 * statement on `uploads`). A waiting final upload is `assembling` with `assembly_started_at`
 * NULL (migration 000011); status changes still go through the repository's `changeStatus`.
 */
export function createFinalUploadQueries(db: Database, { changeStatus }: Pick<UploadRepository, 'changeStatus'>) {
  return {
    /**
     * The caller's final upload made of exactly these partials, in this order: one being
     * assembled or waiting for its partials, or — `consumed` (partials are removed after
     * assembly) — one already received or processed. Nothing for one that expired or was
     * terminated: that attempt is over and a new one may start.
     */
    async findFinalOf(ownerId: string, partialIds: readonly string[], { consumed }: { consumed: boolean }, tx: Queryable): Promise<UploadRecord | undefined> {
      const rows = await tx.query(
        `SELECT ${COLUMNS} FROM uploads
         WHERE owner_id = $1 AND concat_role = 'final' AND partial_ids = $2::text[] AND deleted_at IS NULL
           AND (status = 'assembling' OR ($3::boolean AND status NOT IN ('expired', 'terminated')))
         ORDER BY created_at DESC LIMIT 1`,
        [ownerId, partialIds, consumed],
      );
      return rows[0] ? toRecord(rows[0]) : undefined;
    },

    /** Ids among `partialIds` that a final upload still waiting for its partials already lists. */
    async listedByWaitingFinals(partialIds: readonly string[], tx: Queryable): Promise<string[]> {
      const rows = await tx.query(
        `SELECT DISTINCT unnest(partial_ids) AS id FROM uploads
         WHERE status = 'assembling' AND assembly_started_at IS NULL AND partial_ids && $1::text[]`,
        [partialIds],
      );
      return rows.map((r) => r.id as string).filter((id) => partialIds.includes(id));
    },

    /**
     * The waiting final upload listing `partialId` whose partials are now all finished, claimed
     * for assembly (assembly_started_at set, expiry moved to `assemblyDeadline`) — by exactly one
     * caller: the claim is one UPDATE, and a second claimant re-checks the row after the first
     * commits. Called after the partial's own change committed, so whoever finishes last sees
     * every partial finished.
     */
    async claimWaitingFinal(partialId: string, assemblyDeadline: Date): Promise<UploadRecord | undefined> {
      const rows = await db.query(
        `UPDATE uploads AS f SET assembly_started_at = now(), expires_at = $2, updated_at = now()
         WHERE f.status = 'assembling' AND f.assembly_started_at IS NULL AND f.partial_ids @> ARRAY[$1::text]
           AND NOT EXISTS (SELECT 1 FROM uploads p WHERE p.id = ANY(f.partial_ids) AND p.status <> 'part_received')
         RETURNING f.*`,
        [partialId, assemblyDeadline.toISOString()],
      );
      return rows[0] ? toRecord(rows[0]) : undefined;
    },

    /** The uploads with these ids (any owner), in no particular order. */
    async findMany(ids: readonly string[]): Promise<UploadRecord[]> {
      const rows = await db.query(`SELECT ${COLUMNS} FROM uploads WHERE id = ANY($1::text[])`, [ids]);
      return rows.map(toRecord);
    },

    /**
     * Cancels a final upload still waiting for its partials (tus DELETE): false if its assembly
     * has begun meanwhile (the row lock orders this against claimWaitingFinal).
     */
    async terminateWaitingFinal(id: string): Promise<StatusChange[] | undefined> {
      return db.transaction(async (tx) => {
        const [row] = await tx.query(
          `SELECT id FROM uploads WHERE id = $1 AND status = 'assembling' AND assembly_started_at IS NULL FOR UPDATE`,
          [id],
        );
        if (!row) return undefined;
        return changeStatus(tx, { ids: [id], to: 'terminated' });
      });
    },

  };
}

export type FinalUploadQueries = ReturnType<typeof createFinalUploadQueries>;
