import { contentPath, thumbnailPath, uploadEventsPath, type UploadJson } from '@haul/api';
import type { StoredThumbnail } from '../processing/processing-repository.js';
import { encryptionHeaderOf } from '../uploads/encryption.js';
import type { UploadRecord } from '../uploads/upload-repository.js';

/** An upload as the JSON API shows it (shape: @haul/api's uploadSchema). Storage keys and owners stay inside. */
export function toUploadJson(upload: UploadRecord, thumbnails: readonly StoredThumbnail[]): UploadJson {
  const encryption = encryptionHeaderOf(upload.metadata);
  return {
    id: upload.id,
    status: upload.status,
    reason: upload.statusReason,
    filename: upload.filename,
    declaredType: upload.filetype,
    detectedType: upload.detectedType,
    size: upload.size,
    offset: upload.offset,
    sha256: upload.sha256,
    scanned: upload.scanned,
    encrypted: encryption !== null,
    encryption,
    activeContent: upload.activeContent,
    scope: upload.scope,
    thumbnails: thumbnails.map((t) => ({ size: t.size, width: t.width, height: t.height, url: thumbnailPath(upload.id, t.size) })),
    media: upload.media,
    contentUrl: upload.status === 'ready' ? contentPath(upload.id) : null,
    createdAt: upload.createdAt.toISOString(),
    finishedAt: upload.finishedAt?.toISOString() ?? null,
    processedAt: upload.processedAt?.toISOString() ?? null,
    eventsUrl: uploadEventsPath(upload.id),
  };
}
