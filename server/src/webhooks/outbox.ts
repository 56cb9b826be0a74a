import type { WebhookEvent, WebhookEventType } from '@haul/api';
import type { Queryable } from '../db/database.js';
import { toUploadJson } from '../http/upload-json.js';
import type { StoredThumbnail } from '../processing/processing-repository.js';
import type { StatusChange } from '../uploads/status-change.js';
import type { UploadRecord } from '../uploads/upload-repository.js';
import { newMessageId } from './signature.js';

/** What the outbox reads of an upload, in the transaction of the change. */
export type UploadSnapshot = (tx: Queryable, uploadId: string) => Promise<{ upload: UploadRecord; thumbnails: StoredThumbnail[] } | undefined>;

/** A reason (an error message, a signature name) is cut here, so a body stays small. */
const MAX_REASON_CHARS = 2000;

/**
 * Which status changes are webhook events. Partial uploads are parts of others, never files of
 * their own (as in listings): none of their changes is. `terminated` (tus DELETE) is a deletion,
 * unless the files API deleted the upload (which reported `upload.deleted` itself).
 */
export function eventTypeOf(to: StatusChange['to'], upload: Pick<UploadRecord, 'concatRole' | 'deletedAt'>): WebhookEventType | undefined {
  if (upload.concatRole === 'partial') return undefined;
  switch (to) {
    case 'received':
    case 'ready':
    case 'rejected':
    case 'infected':
    case 'failed':
    case 'expired':
      return `upload.${to}`;
    case 'terminated':
      return upload.deletedAt ? undefined : 'upload.deleted';
    default:
      return undefined;
  }
}

/**
 * The webhook outbox: one row per event, written in the transaction of the change it reports (a
 * status change, the insert of a new upload, a soft delete), so an event exists if and only if its
 * change committed. The row holds the exact body every attempt will send, built from the upload as
 * the change left it: `{ type, timestamp, owner, data: <the API's upload record> }`.
 * Delivery is delivery.ts's.
 */
export function createWebhookOutbox({ snapshot }: { snapshot: UploadSnapshot }) {
  async function record(tx: Queryable, uploadId: string, typeOf: (upload: UploadRecord) => WebhookEventType | undefined, at: (upload: UploadRecord) => Date): Promise<void> {
    const found = await snapshot(tx, uploadId);
    if (!found) return;
    const type = typeOf(found.upload);
    if (type === undefined) return;
    const data = toUploadJson(found.upload, found.thumbnails);
    const event: WebhookEvent = {
      type,
      timestamp: at(found.upload).toISOString(),
      owner: found.upload.ownerId,
      data: { ...data, reason: data.reason && data.reason.slice(0, MAX_REASON_CHARS) },
    };
    await tx.query(`INSERT INTO webhook_outbox (id, event_type, upload_id, payload) VALUES ($1, $2, $3, $4)`, [
      newMessageId(), type, uploadId, JSON.stringify(event),
    ]);
  }

  return {
    onStatusChange: (tx: Queryable, change: StatusChange) =>
      record(tx, change.uploadId, (upload) => eventTypeOf(change.to, upload), () => change.at),
    onCreate: (tx: Queryable, uploadId: string) =>
      record(tx, uploadId, (upload) => (upload.concatRole === 'partial' ? undefined : 'upload.created'), (upload) => upload.createdAt),
    onDelete: (tx: Queryable, uploadId: string) =>
      record(tx, uploadId, (upload) => (upload.concatRole === 'partial' ? undefined : 'upload.deleted'), (upload) => upload.deletedAt ?? new Date()),
  };
}

export type WebhookOutbox = ReturnType<typeof createWebhookOutbox>;
