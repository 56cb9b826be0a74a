import type { MediaJson, UploadStatus } from '@haul/api';
import type { Row } from '../db/database.js';
import { toDate, toDateOrNull, toNumber, toNumberOrNull } from '../db/database.js';
import type { StoredMetadataValue } from './metadata.js';

/** An upload as the `uploads` table holds it, and how a row becomes one (the repository's reads share these). */
export type ConcatRole = 'partial' | 'final';

export interface UploadRecord {
  id: string;
  ownerId: string;
  storageKey: string;
  /**
   * Where the bytes served live: `storageKey`, or — a deduplicated file (uploads/stored-contents.ts)
   * — the one stored copy of its content. Undefined in records built by hand (tests): `storageKey`.
   */
  contentKey?: string;
  filename: string | null;
  filetype: string | null;
  metadata: Record<string, StoredMetadataValue>;
  size: number | null;
  offset: number;
  status: UploadStatus;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  expiresAt: Date | null;
  concatRole: ConcatRole | null;
  /** A final upload's partials, in order. */
  partialIds: string[] | null;
  /**
   * A final upload's assembly began (null while an `assembling` final upload still waits for
   * partials that are uploading: tus concatenation-unfinished).
   */
  assemblyStartedAt?: Date | null;
  detectedType: string | null;
  sha256: string | null;
  statusReason: string | null;
  scanned: boolean | null;
  processedAt: Date | null;
  /** Application scope from the `scope` metadata (who else may read: see http/access.ts). */
  scope: string | null;
  deletedAt: Date | null;
  /** What processing learnt about a picture, video, sound or PDF (migration 000009); all null otherwise. */
  media: MediaJson;
  /** A PDF with active content (JavaScript, launch actions, embedded files); null: not inspected. */
  activeContent: boolean | null;
}

export const COLUMNS = `id, owner_id, storage_key, filename, filetype, metadata, size, upload_offset, status,
  created_at, updated_at, finished_at, expires_at, concat_role, partial_ids, detected_type, sha256, status_reason,
  scanned, processed_at, scope, deleted_at, media_width, media_height, media_duration_ms, media_pages, media_placeholder,
  assembly_started_at, active_content,
  (SELECT sc.storage_key FROM stored_contents sc WHERE sc.id = uploads.content_id) AS content_key`;

export function toRecord(row: Row): UploadRecord {
  return {
    id: row.id as string,
    ownerId: row.owner_id as string,
    storageKey: row.storage_key as string,
    contentKey: (row.content_key as string | null) ?? (row.storage_key as string),
    filename: (row.filename as string | null) ?? null,
    filetype: (row.filetype as string | null) ?? null,
    metadata: (typeof row.metadata === 'string' ? JSON.parse(row.metadata) : row.metadata) as UploadRecord['metadata'],
    size: toNumberOrNull(row.size),
    offset: toNumber(row.upload_offset),
    status: row.status as UploadStatus,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    finishedAt: toDateOrNull(row.finished_at),
    expiresAt: toDateOrNull(row.expires_at),
    concatRole: (row.concat_role as ConcatRole | null) ?? null,
    partialIds: (row.partial_ids as string[] | null) ?? null,
    detectedType: (row.detected_type as string | null) ?? null,
    sha256: (row.sha256 as string | null) ?? null,
    statusReason: (row.status_reason as string | null) ?? null,
    scanned: (row.scanned as boolean | null) ?? null,
    processedAt: toDateOrNull(row.processed_at),
    scope: (row.scope as string | null) ?? null,
    deletedAt: toDateOrNull(row.deleted_at),
    media: {
      width: toNumberOrNull(row.media_width),
      height: toNumberOrNull(row.media_height),
      durationMs: toNumberOrNull(row.media_duration_ms),
      pages: toNumberOrNull(row.media_pages),
      placeholder: (row.media_placeholder as string | null) ?? null,
    },
    assemblyStartedAt: toDateOrNull(row.assembly_started_at),
    activeContent: (row.active_content as boolean | null) ?? null,
  };
}
