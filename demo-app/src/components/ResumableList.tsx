import { isHaulError } from '@haul/client';
import { useNotices } from '../hooks/notices.js';
import { useSession } from '../hooks/session.js';
import type { Gallery } from '../hooks/use-gallery.js';
import { useResumableUploads } from '../hooks/use-resumable-uploads.js';
import { formatBytes, formatPercent, formatRelativeTime } from '../lib/format.js';
import { describeError } from '../lib/problems.js';
import type { ResumableUpload } from '../lib/resumable-uploads.js';
import type { HaulUppy } from '../lib/uppy.js';

/**
 * Uploads this browser started and never finished (a reload, a closed tab, a crash). The
 * uploader continues one when the same file is added again; "Forget" gives it up, and deletes
 * what the server holds of it so it does not wait there until it expires.
 */
export function ResumableList({ uppy, gallery }: { uppy: HaulUppy; gallery: Gallery }) {
  const { client } = useSession();
  const { report, announce } = useNotices();
  const { uploads, forget } = useResumableUploads(uppy, client.endpoint);
  if (uploads.length === 0) return null;

  const sent = (upload: ResumableUpload) => {
    const record = gallery.items.find((item) => upload.uploadIds.includes(item.id));
    return record && upload.size ? `${formatPercent(record.offset, upload.size)} sent` : undefined;
  };

  const discard = async (upload: ResumableUpload) => {
    forget(upload.key);
    for (const id of upload.uploadIds) {
      gallery.forget(id);
      try {
        await client.delete(id);
      } catch (error) {
        if (isHaulError(error) && error.status === 404) continue; // already gone (expired, finished elsewhere)
        report(describeError(error, { action: `delete the unfinished upload of ${upload.filename} on the server` }));
      }
    }
    announce(`Forgot the unfinished upload of ${upload.filename}`);
  };

  return (
    <section className="resumable" data-testid="resumable-list" aria-labelledby="resumable-heading">
      <h3 id="resumable-heading">Unfinished uploads</h3>
      <ul>
        {uploads.map((upload) => (
          <li key={upload.key} className="resumable-item" data-testid="resumable-item" data-filename={upload.filename}>
            <p>
              Unfinished upload: <strong>{upload.filename}</strong> —{' '}
              {[formatBytes(upload.size), sent(upload), upload.createdAt && `started ${formatRelativeTime(upload.createdAt)}`].filter(Boolean).join(', ')}
              . <span className="resumable-hint">Add the same file again to continue.</span>
            </p>
            <button
              type="button"
              className="button button--ghost button--small"
              data-testid="forget"
              aria-label={`Forget the unfinished upload of ${upload.filename}`}
              onClick={() => void discard(upload)}
            >
              Forget
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
