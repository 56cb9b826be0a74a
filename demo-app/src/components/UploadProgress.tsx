import { useUppyState } from '@uppy/react';
import type { UploadJson } from '@haul/client';
import { formatBytes, formatPercent } from '../lib/format.js';
import { displayName } from '../lib/upload-status.js';
import type { HaulUppy } from '../lib/uppy.js';
import { Icon } from './Icon.js';

/** Progress of an upload running in this page, from the uploader, with its own pause/resume. */
function LiveProgress({ uppy, fileId, upload }: { uppy: HaulUppy; fileId: string; upload: UploadJson }) {
  const file = useUppyState(uppy, (state) => state.files[fileId]);
  if (!file) return null;
  const total = file.progress.bytesTotal ?? file.size ?? upload.size ?? 0;
  const sent = file.progress.bytesUploaded || 0;
  const percent = total ? Math.floor((sent / total) * 100) : 0;
  const name = displayName(upload);
  const paused = file.isPaused === true;
  const state = file.error ? 'stopped by an error' : paused ? 'paused' : file.progress.uploadComplete ? 'sent' : 'sending';
  return (
    <div className="progress">
      <progress max={100} value={percent} aria-label={`Upload of ${name}`} />
      <div className="progress-row">
        <span className="progress-text">
          {percent}% of {formatBytes(total)} · {state}
        </span>
        {!file.progress.uploadComplete && !file.error && (
          <button
            type="button"
            className="button button--ghost button--small"
            data-testid="pause-resume"
            aria-label={`${paused ? 'Resume' : 'Pause'} upload of ${name}`}
            onClick={() => uppy.pauseResume(fileId)}
          >
            <Icon name={paused ? 'play' : 'pause'} />
            {paused ? 'Resume' : 'Pause'}
          </button>
        )}
      </div>
    </div>
  );
}

/** How far an upload got: live if this page is sending it, else what the server has. */
export function UploadProgress({ upload, uppy, liveFileId }: { upload: UploadJson; uppy: HaulUppy; liveFileId: string | undefined }) {
  if (liveFileId) return <LiveProgress uppy={uppy} fileId={liveFileId} upload={upload} />;
  const percent = formatPercent(upload.offset, upload.size);
  return (
    <div className="progress">
      <progress max={upload.size ?? 1} value={upload.offset} aria-label={`Upload of ${displayName(upload)}`} />
      <p className="progress-text">
        Stopped at {percent} ({formatBytes(upload.offset)} of {formatBytes(upload.size)}) — add the same file again to continue.
      </p>
    </div>
  );
}
