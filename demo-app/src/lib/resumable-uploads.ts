import { uploadIdFromUrl } from './haul.js';

/**
 * An unfinished upload tus-js-client remembers in localStorage (Uppy's Tus plugin with the SDK's
 * `storeFingerprintForResuming`): adding the same file again continues it from the server's offset.
 */
export interface ResumableUpload {
  /** The localStorage key (`tus::<fingerprint>::<random>`). */
  key: string;
  /** Uppy's file id of the file that started it: the same file added again gets the same id. */
  fileId: string;
  filename: string;
  size: number | null;
  /** Server ids: the upload, or a parallel upload's parts. */
  uploadIds: string[];
  createdAt: string | null;
}

interface StoredEntry {
  size?: unknown;
  metadata?: Record<string, unknown>;
  creationTime?: unknown;
  uploadUrl?: unknown;
  parallelUploadUrls?: unknown;
}

const PREFIX = 'tus::';

/**
 * Uppy's fingerprint is `tus-<file id>-<endpoint>` and its file ids start with the Uppy instance
 * id, which this app derives from the user — so each user only sees their own entries.
 */
export function readResumableUploads(storage: Storage, { instanceId, endpoint }: { instanceId: string; endpoint: string }): ResumableUpload[] {
  const start = `${PREFIX}tus-${instanceId}-`;
  const end = `-${endpoint}`;
  const found: ResumableUpload[] = [];
  for (let i = 0; i < storage.length; i++) {
    const key = storage.key(i);
    if (!key?.startsWith(start)) continue;
    const fingerprint = key.slice(PREFIX.length, key.lastIndexOf('::'));
    if (!fingerprint.endsWith(end)) continue;
    let entry: StoredEntry;
    try {
      entry = JSON.parse(storage.getItem(key) ?? 'null') as StoredEntry;
      if (typeof entry !== 'object' || entry === null) continue;
    } catch {
      continue; // tus-js-client skips damaged entries too
    }
    const urls = [entry.uploadUrl, ...(Array.isArray(entry.parallelUploadUrls) ? entry.parallelUploadUrls : [])];
    const uploadIds = urls.flatMap((url) => (typeof url === 'string' ? (uploadIdFromUrl(url) ?? []) : []));
    const name = entry.metadata?.filename ?? entry.metadata?.name;
    const created = typeof entry.creationTime === 'string' ? new Date(entry.creationTime) : null;
    found.push({
      key,
      fileId: fingerprint.slice('tus-'.length, -end.length),
      filename: typeof name === 'string' ? name : 'unnamed file',
      size: typeof entry.size === 'number' ? entry.size : null,
      uploadIds,
      createdAt: created && !Number.isNaN(created.getTime()) ? created.toISOString() : null,
    });
  }
  return found.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
}

export function forgetResumableUpload(storage: Storage, key: string): void {
  storage.removeItem(key);
}
