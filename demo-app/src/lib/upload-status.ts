import type { UploadJson, UploadStatus } from '@haul/client';

/** What a person sees on a badge: the server's statuses, with the in-between ones folded into "processing". */
export type StatusWord = 'uploading' | 'processing' | 'ready' | 'rejected' | 'infected' | 'failed' | 'expired' | 'terminated';

const WORDS: Record<UploadStatus, StatusWord> = {
  uploading: 'uploading',
  part_received: 'processing',
  assembling: 'processing',
  received: 'processing',
  processing: 'processing',
  ready: 'ready',
  rejected: 'rejected',
  infected: 'infected',
  failed: 'failed',
  concatenated: 'terminated',
  expired: 'expired',
  terminated: 'terminated',
};

export const statusWord = (status: UploadStatus): StatusWord => WORDS[status];

/** Uploads whose verdict is on its way: worth following live. `uploading` is followed through the uploader instead. */
export const isBeingProcessed = (status: UploadStatus): boolean => statusWord(status) === 'processing';

/**
 * The gallery's filter. Terminated uploads were cancelled on purpose (removed from the uploader);
 * partials never show up in the list at all.
 */
export const GALLERY_STATUSES: readonly UploadStatus[] = [
  'uploading', 'assembling', 'received', 'processing', 'ready', 'rejected', 'infected', 'failed', 'expired',
];

export const showsInGallery = (status: UploadStatus): boolean => GALLERY_STATUSES.includes(status);

/** Statuses whose `reason` explains a failure (for the other ones it is a note, e.g. "no preview for HEIC"). */
export const isFailure = (status: UploadStatus): boolean => ['rejected', 'infected', 'failed', 'expired'].includes(status);

/** The name to show: the filename the uploader sent (validated by the server), else the id. */
export const displayName = (upload: Pick<UploadJson, 'filename' | 'id'>): string => upload.filename ?? `Upload ${upload.id}`;

/** One sentence for the live region when an upload changes state. */
export function statusAnnouncement(upload: UploadJson): string {
  const name = displayName(upload);
  const why = upload.reason ? `: ${upload.reason}` : '';
  switch (statusWord(upload.status)) {
    case 'uploading':
      return `${name} is uploading`;
    case 'processing':
      return `${name} is uploaded and being checked`;
    case 'ready':
      return `${name} is ready`;
    case 'rejected':
      return `${name} was rejected${why}`;
    case 'infected':
      return `${name} was refused: malware found${why}`;
    case 'failed':
      return `Processing ${name} failed${why}`;
    case 'expired':
      return `${name} expired before it was finished`;
    case 'terminated':
      return `${name} was cancelled`;
  }
}
