import type { UploadRecord } from '../uploads/upload-repository.js';

/**
 * Recently seen unfinished uploads, so a stream of PATCHes does not cost a database query each
 * (measured: ~0.65 ms of event-loop time per PATCH with the embedded database of the time). Only what never changes while
 * an upload is unfinished is relied on — owner, storage key, role — so a stale entry is
 * harmless: if the upload was terminated or expired meanwhile (here or on another instance),
 * its storage is gone and tus answers 404. Bounded; least recently used entries go first.
 */
export function createRecentUploads(max = 10_000) {
  const entries = new Map<string, UploadRecord>();
  return {
    get(id: string): UploadRecord | undefined {
      const upload = entries.get(id);
      if (upload) {
        entries.delete(id);
        entries.set(id, upload);
      }
      return upload;
    },
    remember(upload: UploadRecord): void {
      if (upload.status !== 'uploading') return void entries.delete(upload.id);
      entries.delete(upload.id);
      entries.set(upload.id, upload);
      if (entries.size > max) entries.delete(entries.keys().next().value!);
    },
    forget(id: string): void {
      entries.delete(id);
    },
  };
}
