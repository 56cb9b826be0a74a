import type { UploadStatus } from '@haul/api';
import type { Database, Queryable } from '../db/database.js';
import { toNumber } from '../db/database.js';
import type { StoredMetadataValue } from './metadata.js';
import { createStatusChange, type StatusChange, type StatusChangeHook } from './status-change.js';
import { COLUMNS, type ConcatRole, toRecord, type UploadRecord } from './upload-record.js';

export type { UploadStatus } from '@haul/api';
export { COLUMNS, type ConcatRole, toRecord, type UploadRecord } from './upload-record.js';

export interface NewUpload {
  id: string;
  ownerId: string;
  storageKey: string;
  filename: string | undefined;
  filetype: string | undefined;
  metadata: Record<string, StoredMetadataValue>;
  size: number | undefined;
  expiresAt: Date;
  concatRole?: ConcatRole;
}

/**
 * Runs inside the transaction that inserts an upload (tus creation, a final upload) or soft-deletes
 * it, after that write: what must commit with it, e.g. a webhook outbox row. Status changes have
 * their own hooks (StatusChangeHook), with what changed.
 */
export type UploadWriteHook = (tx: Queryable, uploadId: string) => Promise<void>;

export interface UploadRepositoryHooks {
  onStatusChange?: readonly StatusChangeHook[];
  onCreate?: readonly UploadWriteHook[];
  onDelete?: readonly UploadWriteHook[];
}


/**
 * All SQL on `uploads`, one named function per operation; every status change goes through
 * `changeStatus`, with the hooks given here. JSON goes in as text (`$n::text::jsonb`):
 * with a bare `$n::jsonb` postgres.js encodes the already-stringified value as a JSON string
 * again, and the column would hold a string instead of an object.
 */
export function createUploadRepository(db: Database, { onStatusChange = [], onCreate = [], onDelete = [] }: UploadRepositoryHooks = {}) {
  const changeStatus = createStatusChange(onStatusChange);
  /** `write` and the hooks in one transaction: the caller's, or a new one when there are hooks to run. */
  const withHooks = <T>(hooks: readonly UploadWriteHook[], tx: Queryable | undefined, write: (q: Queryable) => Promise<T>, idOf: (result: T) => string | undefined) => {
    const run = async (q: Queryable) => {
      const result = await write(q);
      const id = idOf(result);
      if (id !== undefined) for (const hook of hooks) await hook(q, id);
      return result;
    };
    return tx ? run(tx) : hooks.length > 0 ? db.transaction(run) : run(db);
  };
  return {
    /** The one way to change an upload's status (status-change.ts); the functions below use it. */
    changeStatus,

    async insert(upload: NewUpload, tx?: Queryable): Promise<void> {
      await withHooks(onCreate, tx, (q) => q.query(
        `INSERT INTO uploads (id, owner_id, storage_key, filename, filetype, metadata, size, expires_at, concat_role, scope)
         VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $8, $9, CASE WHEN jsonb_typeof(($6::text::jsonb)->'scope') = 'string' THEN ($6::text::jsonb)->>'scope' END)`,
        [
          upload.id, upload.ownerId, upload.storageKey, upload.filename ?? null, upload.filetype ?? null,
          JSON.stringify(upload.metadata), upload.size ?? null, upload.expiresAt.toISOString(),
          upload.concatRole ?? null,
        ],
      ), () => upload.id);
    },

    async find(id: string, tx: Queryable = db): Promise<UploadRecord | undefined> {
      const rows = await tx.query(`SELECT ${COLUMNS} FROM uploads WHERE id = $1`, [id]);
      return rows[0] ? toRecord(rows[0]) : undefined;
    },

    /**
     * An owner's uploads, or a scope's (whoever owns them), or both: newest first, `limit` per
     * page after the `after` position. Partial uploads are parts of others, not files of their
     * own, and are left out.
     *
     * Positions are `created_at` to the microsecond, as text (`position` of each row): a
     * JavaScript Date keeps only milliseconds, and a cursor rounded down to one would skip every
     * upload created later in the same millisecond as a page's last. For the same reason the
     * parameter goes in as text (postgres.js sends timestamptz parameters through a Date).
     */
    async list({ ownerId, scope, status, after, limit }: {
      ownerId?: string;
      scope?: string;
      status: readonly UploadStatus[] | undefined;
      after: { position: string; id: string } | undefined;
      limit: number;
    }): Promise<Array<UploadRecord & { position: string }>> {
      const rows = await db.query(
        `SELECT ${COLUMNS}, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position FROM uploads
         WHERE ($1::text IS NULL OR owner_id = $1::text) AND ($6::text IS NULL OR scope = $6::text)
           AND deleted_at IS NULL AND concat_role IS DISTINCT FROM 'partial'
           AND ($2::text[] IS NULL OR status = ANY($2::text[]))
           AND ($3::text IS NULL OR (created_at, id) < ($3::text::timestamptz, $4::text))
         ORDER BY created_at DESC, id DESC LIMIT $5`,
        [ownerId ?? null, status ?? null, after?.position ?? null, after?.id ?? null, limit, scope ?? null],
      );
      return rows.map((row) => ({ ...toRecord(row), position: row.position as string }));
    },

    /** Soft delete: the row stays (audit, history) but the upload is gone for every purpose. */
    async markDeleted(id: string): Promise<boolean> {
      const rows = await withHooks(onDelete, undefined, (q) => q.query(
        `UPDATE uploads SET deleted_at = now(), updated_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING id`,
        [id],
      ), (deleted) => (deleted.length > 0 ? id : undefined));
      return rows.length > 0;
    },

    /** Moves an upload to another application scope (or none); the metadata keeps what the client sent. */
    async setScope(id: string, scope: string | null): Promise<boolean> {
      const rows = await db.query(
        `UPDATE uploads SET scope = $2, updated_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING id`,
        [id, scope],
      );
      return rows.length > 0;
    },

    async findByStorageKey(storageKey: string): Promise<UploadRecord | undefined> {
      const rows = await db.query(`SELECT ${COLUMNS} FROM uploads WHERE storage_key = $1`, [storageKey]);
      return rows[0] ? toRecord(rows[0]) : undefined;
    },

    async countUnfinished(ownerId: string): Promise<number> {
      const rows = await db.query(
        `SELECT count(*) AS n FROM uploads WHERE owner_id = $1 AND status = 'uploading' AND expires_at > now()`,
        [ownerId],
      );
      return toNumber(rows[0]?.n ?? 0);
    },

    async setSize(id: string, size: number, tx: Queryable = db): Promise<void> {
      await tx.query(`UPDATE uploads SET size = $2, updated_at = now() WHERE id = $1 AND size IS NULL`, [id, size]);
    },

    /** Applies many offsets in one statement; offsets only ever move forward. */
    async recordOffsets(offsets: ReadonlyMap<string, number>): Promise<void> {
      if (offsets.size === 0) return;
      const ids = [...offsets.keys()];
      const values = ids.map((id) => offsets.get(id)!);
      await db.query(
        `UPDATE uploads AS u SET upload_offset = v.off, updated_at = now()
         FROM (SELECT unnest($1::text[]) AS id, unnest($2::bigint[]) AS off) AS v
         WHERE u.id = v.id AND u.status = 'uploading' AND u.upload_offset < v.off`,
        [ids, values],
      );
    },

    /**
     * All bytes are in: uploading → received, or → part_received for a partial (which still
     * expires unless it is concatenated). Nothing, if the upload was not `uploading`.
     */
    async markReceived(id: string, size: number, tx: Queryable): Promise<StatusChange | undefined> {
      const [row] = await tx.query(`SELECT concat_role FROM uploads WHERE id = $1`, [id]);
      if (!row) return undefined;
      const to = row.concat_role === 'partial' ? 'part_received' : 'received';
      const [change] = await changeStatus(tx, { ids: [id], to, size });
      return change;
    },

    /** The caller's finished partials among `ids`, locked against a concurrent final POST. */
    async lockPartials(ownerId: string, ids: readonly string[], tx: Queryable): Promise<UploadRecord[]> {
      const rows = await tx.query(
        `SELECT ${COLUMNS} FROM uploads WHERE owner_id = $1 AND id = ANY($2::text[]) FOR UPDATE`,
        [ownerId, ids],
      );
      return rows.map(toRecord);
    },

    /**
     * A final upload whose bytes are about to be assembled (it expires if assembly never ends),
     * or — `waiting` — whose partials are still uploading (it expires with the first of them).
     */
    async insertFinal(
      upload: Omit<NewUpload, 'size'> & { partialIds: readonly string[]; size: number | null; waiting: boolean },
      tx: Queryable,
    ): Promise<void> {
      await withHooks(onCreate, tx, (q) => q.query(
        `INSERT INTO uploads (id, owner_id, storage_key, filename, filetype, metadata, size, upload_offset,
           status, expires_at, concat_role, partial_ids, scope, assembly_started_at)
         VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, 0, 'assembling', $8, 'final', $9::text[], CASE WHEN jsonb_typeof(($6::text::jsonb)->'scope') = 'string' THEN ($6::text::jsonb)->>'scope' END,
           CASE WHEN $10::boolean THEN NULL ELSE now() END)`,
        [
          upload.id, upload.ownerId, upload.storageKey, upload.filename ?? null, upload.filetype ?? null,
          JSON.stringify(upload.metadata), upload.size, upload.expiresAt.toISOString(), upload.partialIds, upload.waiting,
        ],
      ), () => upload.id);
    },

    /**
     * assembling → received; the partials (unless kept) → concatenated, their storage to be
     * removed. Nothing, if the final upload is no longer `assembling` (swept as abandoned).
     */
    async finishFinal(id: string, size: number, consumePartials: boolean, tx: Queryable): Promise<StatusChange[]> {
      const received = await changeStatus(tx, { ids: [id], to: 'received', size });
      if (received.length === 0 || !consumePartials) return received;
      const [row] = await tx.query(`SELECT partial_ids FROM uploads WHERE id = $1`, [id]);
      const partialIds = (row?.partial_ids as string[] | null) ?? [];
      return [...received, ...(await changeStatus(tx, { ids: partialIds, to: 'concatenated', reason: `concatenated into ${id}` }))];
    },

    /** A final upload whose assembly failed: gone, so the client can retry with a new final POST. */
    async abandonFinal(id: string, reason: string | null = null): Promise<void> {
      await db.transaction((tx) => changeStatus(tx, { ids: [id], to: 'expired', reason }));
    },

    /** tus DELETE (or the files API deleting an unfinished upload): its bytes are gone. */
    /** uploading → rejected by its first bytes (tus/content-check.ts), its bytes already removed. */
    markRefused(id: string, reason: string, detectedType: string | null): Promise<StatusChange[]> {
      return db.transaction(async (tx) => {
        await tx.query(`UPDATE uploads SET purged_at = now() WHERE id = $1 AND status = 'uploading'`, [id]);
        return changeStatus(tx, { ids: [id], to: 'rejected', reason, findings: { detectedType, sha256: null, scanned: false } });
      });
    },

    markTerminated(id: string): Promise<StatusChange[]> {
      return db.transaction((tx) => changeStatus(tx, { ids: [id], to: 'terminated' }));
    },

    /**
     * Claims up to `limit` expired unfinished uploads for removal (→ expired), each change with
     * its event, in one transaction. SKIP LOCKED lets several instances sweep at once without
     * taking the same rows.
     */
    async claimExpired(limit: number): Promise<{ changes: StatusChange[]; claimed: Array<{ id: string; storageKey: string }> }> {
      return db.transaction(async (tx) => {
        const changes = await changeStatus(tx, { pastExpiry: { limit }, to: 'expired' });
        const rows = await tx.query(`SELECT id, storage_key FROM uploads WHERE id = ANY($1::text[])`, [changes.map((c) => c.uploadId)]);
        return { changes, claimed: rows.map((r) => ({ id: r.id as string, storageKey: r.storage_key as string })) };
      });
    },

    /**
     * Expired, concatenated, terminated or deleted uploads whose storage has not been removed yet
     * (a termination records the status before it removes the bytes).
     */
    async listUnpurged(limit: number): Promise<Array<{ id: string; storageKey: string }>> {
      const rows = await db.query(
        `SELECT id, storage_key FROM uploads WHERE (status IN ('expired', 'concatenated', 'terminated') OR deleted_at IS NOT NULL) AND purged_at IS NULL
         ORDER BY updated_at LIMIT $1`,
        [limit],
      );
      return rows.map((r) => ({ id: r.id as string, storageKey: r.storage_key as string }));
    },

    /** Its bytes are gone: so are its previews' rows. */
    async markPurged(id: string): Promise<void> {
      await db.query(`WITH previews AS (DELETE FROM thumbnails WHERE upload_id = $1) UPDATE uploads SET purged_at = now() WHERE id = $1`, [id]);
    },
  };
}

export type UploadRepository = ReturnType<typeof createUploadRepository>;
