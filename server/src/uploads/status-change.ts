import { type INITIAL_STATUSES, PROCESSING_OUTCOMES, type ProcessingOutcomeStatus, statusesLeadingTo, type UploadStatus } from '@haul/api';
import type { Queryable } from '../db/database.js';
import { toDate, toNumber } from '../db/database.js';

/**
 * The one place an upload's status changes. Every change — one upload or a batch — is a guarded
 * UPDATE (`WHERE status = ANY(statusesLeadingTo(to))`, so a change the status machine of
 * @haul/api does not allow affects no row), its `upload_events` row, and then every
 * registered hook, all in the caller's transaction. Notifying watchers (StatusEvents) is the
 * caller's job, after commit.
 */

/** One upload's status change, as recorded in `upload_events`. */
export interface StatusChange {
  /** `upload_events.id`: unique and increasing, so a usable idempotency key for deliveries. */
  eventId: number;
  uploadId: string;
  ownerId: string;
  from: UploadStatus;
  to: UploadStatus;
  reason: string | null;
  at: Date;
}

/**
 * Runs inside the transaction of every status change, once per upload changed, after the row
 * and its event are written: whatever must happen if and only if the change commits (e.g. a
 * webhook outbox row). A hook that throws rolls the change back.
 */
export type StatusChangeHook = (tx: Queryable, change: StatusChange) => Promise<void>;

/** What processing learnt about a file, recorded with its outcome. */
export interface ProcessingFindings {
  detectedType: string | null;
  sha256: string | null;
  scanned: boolean | null;
  /** A PDF with JavaScript, launch actions or embedded files (served only as an attachment); null: not a PDF. */
  activeContent?: boolean | null;
}

/** Statuses a change can lead to (the initial ones are only ever inserted). */
export type ReachableStatus = Exclude<UploadStatus, (typeof INITIAL_STATUSES)[number]>;

/**
 * Which uploads: by id, or — the expiry sweep — up to `limit` whose `expires_at` has passed,
 * oldest first, skipping rows another sweeper has locked (FOR UPDATE SKIP LOCKED), so several
 * instances can sweep at once without taking the same rows.
 */
export type StatusChangeTarget = { ids: readonly string[] } | { pastExpiry: { limit: number } };

/**
 * A change and what it records besides the status. `reason` goes to the event and becomes the
 * upload's `status_reason` (why it is in its status; null for none).
 */
export type StatusChangeRequest = StatusChangeTarget & { reason?: string | null } & (
  | { to: 'received' | 'part_received'; /** All bytes are in: the final size (and offset). */ size: number }
  | { to: ProcessingOutcomeStatus; findings: ProcessingFindings }
  | { to: Exclude<ReachableStatus, 'received' | 'part_received' | ProcessingOutcomeStatus> }
);

/** The columns each change sets besides status, reason and updated_at. */
function columnsSetBy(request: StatusChangeRequest, param: (value: unknown) => string): string[] {
  switch (request.to) {
    case 'received':
    case 'part_received': {
      const size = param(request.size);
      const finished = [`size = ${size}::bigint`, `upload_offset = ${size}::bigint`, 'finished_at = now()'];
      // A finished partial still expires unless a final upload uses it; a received file does not.
      return request.to === 'received' ? [...finished, 'expires_at = NULL'] : finished;
    }
    case 'ready':
    case 'rejected':
    case 'infected':
    case 'failed': {
      const { detectedType, sha256, scanned } = request.findings;
      return [
        `detected_type = ${param(detectedType)}::text`, `sha256 = ${param(sha256)}::text`,
        `scanned = ${param(scanned)}::boolean`, 'processed_at = now()',
        `active_content = ${param(request.findings.activeContent ?? null)}::boolean`,
      ];
    }
    // Termination follows the removal of the bytes (tus DELETE): nothing is left to purge.
    case 'terminated':
      return ['purged_at = now()'];
    default:
      return [];
  }
}

/** The guarded UPDATE, the event rows and the change records, in one statement. */
function statusChangeQuery(request: StatusChangeRequest): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const param = (value: unknown) => `$${params.push(value)}`;
  // Expiry by `expires_at` is for unfinished uploads only; finished files expire by retention (uploads/retention.ts), by id.
  const from = param(statusesLeadingTo(request.to).filter((status) => !('pastExpiry' in request && (PROCESSING_OUTCOMES as readonly string[]).includes(status))));
  const to = param(request.to);
  const reason = param(request.reason ?? null);
  // Rows are locked in a fixed order, so two changes over overlapping sets cannot deadlock.
  const select = 'ids' in request
    ? `WHERE status = ANY(${from}::text[]) AND id = ANY(${param(request.ids)}::text[]) ORDER BY id FOR UPDATE`
    : `WHERE status = ANY(${from}::text[]) AND expires_at <= now() ORDER BY expires_at LIMIT ${param(request.pastExpiry.limit)}::int FOR UPDATE SKIP LOCKED`;
  const set = [`status = ${to}::text`, `status_reason = ${reason}::text`, 'updated_at = now()', ...columnsSetBy(request, param)];
  const text = `
    WITH target AS (SELECT id, status FROM uploads ${select}),
    changed AS (
      UPDATE uploads AS u SET ${set.join(', ')} FROM target WHERE u.id = target.id
      RETURNING u.id, u.owner_id, target.status AS from_status),
    logged AS (
      INSERT INTO upload_events (upload_id, status, reason) SELECT id, ${to}::text, ${reason}::text FROM changed
      RETURNING id, upload_id, at)
    SELECT logged.id AS event_id, changed.id AS upload_id, changed.owner_id, changed.from_status, logged.at
    FROM changed JOIN logged ON logged.upload_id = changed.id ORDER BY logged.id`;
  return { text, params };
}

/**
 * `changeStatus(tx, request)`: performs the change on every targeted upload whose status allows
 * it, and returns one record per upload changed (none if no status allowed it).
 */
export function createStatusChange(hooks: readonly StatusChangeHook[] = []) {
  return async function changeStatus(tx: Queryable, request: StatusChangeRequest): Promise<StatusChange[]> {
    if ('ids' in request && request.ids.length === 0) return [];
    const { text, params } = statusChangeQuery(request);
    const changes = (await tx.query(text, params)).map((row): StatusChange => ({
      eventId: toNumber(row.event_id),
      uploadId: row.upload_id as string,
      ownerId: row.owner_id as string,
      from: row.from_status as UploadStatus,
      to: request.to,
      reason: request.reason ?? null,
      at: toDate(row.at),
    }));
    for (const change of changes) for (const hook of hooks) await hook(tx, change);
    return changes;
  };
}

export type ChangeStatus = ReturnType<typeof createStatusChange>;
