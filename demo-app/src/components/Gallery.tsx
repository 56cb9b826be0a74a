import { useCallback, useRef, useState } from 'react';
import type { UploadJson } from '@haul/client';
import { useNotices } from '../hooks/notices.js';
import type { Gallery as GalleryState } from '../hooks/use-gallery.js';
import type { LiveUploads } from '../hooks/use-uppy-bridge.js';
import { displayName } from '../lib/upload-status.js';
import type { HaulUppy } from '../lib/uppy.js';
import { GalleryItem } from './GalleryItem.js';
import { Icon } from './Icon.js';
import { Viewer } from './Viewer.js';

export function Gallery({ gallery, uppy, live, title }: { gallery: GalleryState; uppy: HaulUppy; live: LiveUploads; title: string }) {
  const { announce } = useNotices();
  const heading = useRef<HTMLHeadingElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  const [viewingId, setViewingId] = useState<string | null>(null);
  const [refreshing, setRefreshing] = useState(false);
  const { items, phase, hasMore, forget } = gallery;
  // Always the latest record: a viewer open on an upload that is deleted meanwhile closes.
  const viewing = viewingId === null ? undefined : items.find((item) => item.id === viewingId);

  const open = useCallback((upload: UploadJson, from: HTMLElement) => {
    opener.current = from;
    setViewingId(upload.id);
  }, []);

  const closeViewer = useCallback(() => {
    setViewingId(null);
    opener.current?.focus();
  }, []);

  const onGone = useCallback(
    (upload: UploadJson, deletedHere: boolean) => {
      forget(upload.id);
      if (deletedHere) announce(`${displayName(upload)} deleted`);
      // The card and its buttons are gone: keep keyboard users in the gallery.
      heading.current?.focus();
    },
    [forget, announce],
  );

  const refresh = async () => {
    setRefreshing(true);
    await gallery.reload();
    setRefreshing(false);
    announce('Upload list refreshed');
  };

  return (
    <section className="panel gallery-panel" aria-labelledby="gallery-heading">
      <div className="panel-head">
        <h2 id="gallery-heading" ref={heading} tabIndex={-1}>
          {title}{' '}
          {phase === 'ready' && (
            <span className="count">
              {items.length}
              {hasMore ? '+' : ''}
            </span>
          )}
        </h2>
        <button type="button" className="button button--ghost button--small" disabled={refreshing} onClick={() => void refresh()}>
          <Icon name="refresh" />
          {refreshing ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>

      {/* The test id is on the region, not the list, so it is visible (and findable) while the list is empty. */}
      <div className="gallery-region" data-testid="gallery">
        {phase === 'loading' && (
          <p className="muted" role="status">
            Loading your uploads…
          </p>
        )}
        {phase === 'failed' && (
          <p className="muted">
            Your uploads could not be loaded (see the message above).{' '}
            <button type="button" className="link-button" onClick={() => void refresh()}>
              Try again
            </button>
          </p>
        )}
        {phase === 'ready' && items.length === 0 && (
          <div className="empty">
            <Icon name="upload" className="empty-icon" />
            <p>
              <strong>No uploads yet.</strong> Add files to the uploader — each one appears here as soon as the server has it, with its
              status as it is checked.
            </p>
          </div>
        )}

        <ul className="gallery" aria-labelledby="gallery-heading">
          {items.map((upload) => (
            <GalleryItem key={upload.id} upload={upload} uppy={uppy} liveFileId={live[upload.id]} onOpen={open} onGone={onGone} />
          ))}
        </ul>
      </div>

      {hasMore && (
        <button type="button" className="button button--wide load-more" onClick={() => void gallery.loadMore()}>
          Show older uploads
        </button>
      )}

      {viewing && <Viewer key={viewing.id} upload={viewing} onClose={closeViewer} />}
    </section>
  );
}
