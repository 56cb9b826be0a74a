import { memo, useRef, useState } from 'react';
import { isHaulError, type LinkJson, type UploadJson } from '@haul/client';
import { useE2EKeys } from '../hooks/e2e-keys.js';
import { useNotices } from '../hooks/notices.js';
import { useSession } from '../hooks/session.js';
import { downloadDecrypted, downloadUpload } from '../lib/download.js';
import { slotOf } from '../lib/e2e-keys.js';
import { formatBytes, formatDateTime, formatRelativeTime } from '../lib/format.js';
import { describeError, type Attempt } from '../lib/problems.js';
import { displayName, isFailure, statusWord } from '../lib/upload-status.js';
import type { HaulUppy } from '../lib/uppy.js';
import { CardMedia } from './CardMedia.js';
import { DeleteConfirm } from './DeleteConfirm.js';
import { Icon } from './Icon.js';
import { ShareBox } from './ShareBox.js';
import { StatusBadge } from './StatusBadge.js';
import { UploadProgress } from './UploadProgress.js';

interface GalleryItemProps {
  upload: UploadJson;
  uppy: HaulUppy;
  /** The uploader's file id while this page is sending the upload. */
  liveFileId: string | undefined;
  onOpen: (upload: UploadJson, opener: HTMLElement) => void;
  /** Deleted here, or found gone on the server. */
  onGone: (upload: UploadJson, deletedHere: boolean) => void;
}

/**
 * The SDK keeps retrying a server that does not answer (with back-off, for minutes); someone
 * who clicked a button should hear back sooner than that.
 */
const ACTION_TIMEOUT_MS = 20_000;

function Verdict({ upload }: { upload: UploadJson }) {
  if (isFailure(upload.status)) {
    const reason = upload.reason ?? (upload.status === 'expired' ? 'it was not finished in time' : 'no reason given');
    return (
      <p className="reason" data-testid="status-reason">
        {upload.status === 'infected' ? `Malware found: ${reason}` : reason}
      </p>
    );
  }
  if (statusWord(upload.status) === 'processing') return <p className="note">Checking type{upload.scanned === false ? '' : ', scanning'} and making previews…</p>;
  if (upload.status !== 'ready') return null;
  return (
    <>
      {upload.reason && <p className="note">{upload.reason}</p>}
      {upload.scanned === false && !upload.reason && <p className="note">Not scanned for malware: scanning is off on this server.</p>}
    </>
  );
}

/** One upload: its picture, name, size, live status, and what can be done with it. */
export const GalleryItem = memo(function GalleryItem({ upload, uppy, liveFileId, onOpen, onGone }: GalleryItemProps) {
  const { client } = useSession();
  const { report, announce } = useNotices();
  const key = useE2EKeys().keyFor(slotOf(upload.scope));
  const [busy, setBusy] = useState<'download' | 'share' | 'delete' | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [link, setLink] = useState<LinkJson | null>(null);
  const deleteButton = useRef<HTMLButtonElement>(null);
  const shareButton = useRef<HTMLButtonElement>(null);
  const name = displayName(upload);
  const ready = upload.status === 'ready';
  const unfinished = upload.status === 'uploading';

  const attempt = async (what: 'download' | 'share' | 'delete', run: () => Promise<void>, failure: Attempt) => {
    setBusy(what);
    try {
      await run();
    } catch (error) {
      const problem = describeError(error, failure);
      report(problem);
      if (problem.gone) onGone(upload, false);
    } finally {
      setBusy(null);
    }
  };

  const download = () =>
    attempt('download', async () => {
      if (upload.encrypted) {
        if (!key) throw new Error('this file is end-to-end encrypted: enter the passphrase of its conversation first');
        await downloadDecrypted(client, upload, key);
      } else await downloadUpload(client, upload);
      announce(`Downloading ${name}`);
    }, { action: `download ${name}`, countable: 'downloads' });

  const share = () =>
    attempt('share', async () => {
      setLink(await client.createLink(upload.id, { signal: AbortSignal.timeout(ACTION_TIMEOUT_MS) }));
      announce(`Share link for ${name} created`);
    }, { action: `create a share link for ${name}`, countable: 'share links' });

  const remove = () =>
    attempt('delete', async () => {
      // Stopping the uploader first: it would otherwise keep sending to an upload that is gone.
      if (liveFileId && uppy.getFile(liveFileId)) uppy.removeFile(liveFileId);
      try {
        await client.delete(upload.id, { signal: AbortSignal.timeout(ACTION_TIMEOUT_MS) });
      } catch (error) {
        // Removing a running upload from Uppy already terminated it on the server.
        if (!(isHaulError(error) && error.status === 404)) throw error;
      }
      onGone(upload, true);
    }, { action: `delete ${name}` });

  return (
    <li className={`card card--${statusWord(upload.status)}`} data-testid="gallery-item" data-upload-id={upload.id} data-status={upload.status}>
      <CardMedia upload={upload} onOpen={(opener) => onOpen(upload, opener)} />
      <div className="card-body">
        <h3 className="card-name" title={name}>
          {name}
        </h3>
        <p className="card-meta">
          {formatBytes(upload.size)} ·{' '}
          {upload.media.pages !== null && <span data-testid="pages">{upload.media.pages === 1 ? '1 page' : `${upload.media.pages} pages`} · </span>}
          <time dateTime={upload.createdAt} title={formatDateTime(upload.createdAt)}>
            {formatRelativeTime(upload.createdAt)}
          </time>
        </p>
        <div className="card-status">
          <StatusBadge status={upload.status} />
        </div>
        {unfinished && <UploadProgress upload={upload} uppy={uppy} liveFileId={liveFileId} />}
        <Verdict upload={upload} />

        {!confirming && (
          <div className="card-actions">
            {ready && (
              <button type="button" className="button button--small" data-testid="download" disabled={busy !== null} aria-label={`Download ${name}`} onClick={() => void download()}>
                <Icon name="download" />
                {busy === 'download' ? 'Downloading…' : 'Download'}
              </button>
            )}
            {/* Beside Download, Share and Delete are icons (with tooltips) so a narrow card keeps one row. */}
            {ready && !upload.encrypted && (
              <button
                type="button"
                ref={shareButton}
                className="button button--small button--icon push-right"
                data-testid="share"
                disabled={busy !== null}
                aria-label={`Create a share link for ${name}`}
                title="Share link"
                onClick={() => void share()}
              >
                <Icon name="share" />
              </button>
            )}
            <button
              type="button"
              ref={deleteButton}
              className={ready ? 'button button--small button--icon button--quiet-danger' : 'button button--small button--quiet-danger'}
              data-testid="delete"
              disabled={busy !== null}
              aria-label={`Delete ${name}`}
              title="Delete"
              onClick={() => setConfirming(true)}
            >
              <Icon name="trash" />
              {!ready && 'Delete'}
            </button>
          </div>
        )}
        {confirming && (
          <DeleteConfirm
            name={name}
            unfinished={unfinished}
            busy={busy === 'delete'}
            onConfirm={() => void remove()}
            onCancel={() => {
              setConfirming(false);
              requestAnimationFrame(() => deleteButton.current?.focus());
            }}
          />
        )}
        {link && ready && (
          <ShareBox
            link={link}
            filename={name}
            onClose={() => {
              setLink(null);
              shareButton.current?.focus();
            }}
          />
        )}
      </div>
    </li>
  );
});
