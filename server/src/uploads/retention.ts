import type { RetentionConfig } from '../config.js';
import type { Database } from '../db/database.js';
import { toNumber } from '../db/database.js';
import { typesNamedBy } from '../processing/file-policy.js';
import type { StatusChange } from './status-change.js';
import type { UploadRepository } from './upload-repository.js';

/**
 * Retention: finished files expire — status `expired` (through status-change.ts, so with its
 * event and its `upload.expired` webhook) — and the expiry sweep then removes their bytes,
 * previews and quarantined copy. Ready files after RETENTION_SECONDS, or the period of their
 * scope (RETENTION_SECONDS_BY_SCOPE, by prefix, first match) or type (RETENTION_SECONDS_BY_TYPE,
 * category or MIME type, first match); rejected and failed files after
 * REJECTED_RETENTION_SECONDS; infected ones after QUARANTINE_RETENTION_SECONDS; audit rows after
 * AUDIT_RETENTION_SECONDS. Each call handles at most `limit` rows, claimed with FOR UPDATE SKIP
 * LOCKED, so several instances sweep at once without taking the same rows. Time comes from
 * `now()` (a fake clock in tests), never from the database's.
 */
export function createRetention({ db, repository, config, now }: {
  db: Database;
  repository: Pick<UploadRepository, 'changeStatus'>;
  config: RetentionConfig;
  now: () => Date;
}) {
  /** A ready file's retention in seconds, as SQL (NULL: kept for good). */
  function readySeconds(param: (value: unknown) => string): string {
    const cases = [
      ...config.byScopePrefix.map(([prefix, seconds]) => `WHEN starts_with(scope, ${param(prefix)}::text) THEN ${param(seconds)}::bigint`),
      ...config.byType.map(([entry, seconds]) => `WHEN detected_type = ANY(${param(typesNamedBy(entry))}::text[]) THEN ${param(seconds)}::bigint`),
    ];
    const fallback = `${param(config.readySeconds ?? null)}::bigint`;
    return cases.length > 0 ? `CASE ${cases.join(' ')} ELSE ${fallback} END` : fallback;
  }

  return {
    /** Expires up to `limit` files whose time has come, in one transaction; returns the changes and what to remove. */
    claim(limit: number): Promise<{ changes: StatusChange[]; claimed: Array<{ id: string; storageKey: string }> }> {
      const params: unknown[] = [];
      const param = (value: unknown) => `$${params.push(value)}`;
      const at = `${param(now().toISOString())}::timestamptz`;
      const since = 'COALESCE(processed_at, finished_at, updated_at)';
      const due = (seconds: string) => `${since} + make_interval(secs => ${seconds}) <= ${at}`;
      const text = `SELECT id, storage_key FROM uploads WHERE deleted_at IS NULL AND (
          (status = 'ready' AND ${due(readySeconds(param))})
          OR (status IN ('rejected', 'failed') AND ${due(`${param(config.rejectedSeconds)}::bigint`)})
          OR (status = 'infected' AND ${due(`${param(config.quarantineSeconds)}::bigint`)}))
        ORDER BY ${since} LIMIT ${param(limit)}::int FOR UPDATE SKIP LOCKED`;
      return db.transaction(async (tx) => {
        const rows = await tx.query(text, params);
        const changes = await repository.changeStatus(tx, { ids: rows.map((r) => r.id as string), to: 'expired', reason: 'its retention period ended' });
        const changed = new Set(changes.map((c) => c.uploadId));
        const claimed = rows.filter((r) => changed.has(r.id as string)).map((r) => ({ id: r.id as string, storageKey: r.storage_key as string }));
        return { changes, claimed };
      });
    },

    /** Deletes up to `limit` audit rows older than AUDIT_RETENTION_SECONDS; returns how many. */
    async pruneAudit(limit: number): Promise<number> {
      const rows = await db.query(
        `WITH old AS (SELECT id FROM audit_log WHERE at < $1::timestamptz - make_interval(secs => $2::bigint) ORDER BY at LIMIT $3::int FOR UPDATE SKIP LOCKED)
         DELETE FROM audit_log WHERE id IN (SELECT id FROM old) RETURNING id`,
        [now().toISOString(), config.auditSeconds, limit],
      );
      return toNumber(rows.length);
    },
  };
}

export type Retention = ReturnType<typeof createRetention>;
