import { type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import type { UploadJson } from '@haul/client';
import { useNotices } from '../hooks/notices.js';
import { useSession } from '../hooks/session.js';
import { downloadUpload } from '../lib/download.js';
import { describeError } from '../lib/problems.js';
import { displayName } from '../lib/upload-status.js';
import { Icon } from './Icon.js';
import { PdfPreview } from './PdfPreview.js';
import { VideoPlayer } from './VideoPlayer.js';
import { ZoomableImage, type Zoom, ZOOM_STEPS } from './ZoomableImage.js';

/**
 * The lightbox: a modal <dialog> (focus is trapped inside and Escape closes it natively), an
 * image with zoom, a PDF in the browser's viewer or a video in its player, and a download. Whoever opened it gets the
 * focus back (the parent, in onClose).
 */
export function Viewer({ upload, onClose }: { upload: UploadJson; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const { client } = useSession();
  const { report } = useNotices();
  const [zoom, setZoom] = useState<Zoom>('fit');
  const isPdf = upload.detectedType === 'application/pdf';
  const isVideo = upload.detectedType?.startsWith('video/') ?? false;
  /** Zoom is for pictures; PDFs and videos bring their own controls. */
  const zoomable = !isPdf && !isVideo;
  const name = displayName(upload);

  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
    return () => element?.close();
  }, []);

  const step = (direction: 1 | -1) =>
    setZoom((current) => {
      const index = current === 'fit' ? -1 : ZOOM_STEPS.indexOf(current);
      const next = index + direction;
      return next < 0 ? 'fit' : (ZOOM_STEPS[Math.min(next, ZOOM_STEPS.length - 1)] ?? 'fit');
    });

  const onKeyDown = (event: KeyboardEvent) => {
    if (!zoomable || event.target instanceof HTMLInputElement) return;
    if (event.key === '+' || event.key === '=') step(1);
    else if (event.key === '-') step(-1);
    else if (event.key === '0') setZoom('fit');
    else return;
    event.preventDefault();
  };

  // The dialog closes first: while it is modal the rest of the page is inert, and the parent
  // could not give the focus back to the button that opened it.
  const close = () => {
    dialog.current?.close();
    onClose();
  };

  const download = () =>
    downloadUpload(client, upload).catch((error: unknown) => report(describeError(error, { action: `download ${name}`, countable: 'downloads' })));

  return (
    <dialog
      ref={dialog}
      className={isPdf ? 'viewer viewer--pdf' : 'viewer'}
      data-testid="lightbox"
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault(); // closed through React state, so focus can go back where it came from
        close();
      }}
      onKeyDown={onKeyDown}
    >
      <div className="viewer-bar">
        <h2 id={titleId} className="viewer-title">
          {name}
        </h2>
        <div className="viewer-tools">
          {zoomable && (
            <div className="zoom-tools" role="group" aria-label="Zoom">
              <button type="button" className="icon-button" aria-label="Zoom out (−)" disabled={zoom === 'fit'} onClick={() => step(-1)}>
                <Icon name="zoomOut" />
              </button>
              <span className="zoom-level" aria-live="polite">
                {zoom === 'fit' ? 'Fit' : `${zoom * 100}%`}
              </span>
              <button type="button" className="icon-button" aria-label="Zoom in (+)" disabled={zoom === ZOOM_STEPS.at(-1)} onClick={() => step(1)}>
                <Icon name="zoomIn" />
              </button>
              <button type="button" className="icon-button" aria-label="Fit to screen (0)" disabled={zoom === 'fit'} onClick={() => setZoom('fit')}>
                <Icon name="fit" />
              </button>
            </div>
          )}
          <button type="button" className="icon-button" aria-label={`Download ${name}`} onClick={() => void download()}>
            <Icon name="download" />
          </button>
          <button type="button" className="icon-button" data-testid="lightbox-close" aria-label="Close preview (Escape)" onClick={close}>
            <Icon name="close" />
          </button>
        </div>
      </div>
      <div className="viewer-body">
        {isPdf ? <PdfPreview upload={upload} /> : isVideo ? <VideoPlayer upload={upload} /> : <ZoomableImage upload={upload} zoom={zoom} onZoomChange={setZoom} />}
      </div>
    </dialog>
  );
}
