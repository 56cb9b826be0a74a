import { useRef } from 'react';
import type { ThumbnailJson, UploadJson } from '@haul/client';
import { useAuthorizedBlobUrl } from '../hooks/use-blob-url.js';
import { useDecryptedPreview } from '../hooks/use-decrypted-preview.js';
import { useNearViewport } from '../hooks/use-near-viewport.js';
import { canPreview, extensionOf, fileKind } from '../lib/file-kind.js';
import { displayName } from '../lib/upload-status.js';
import { FileIcon } from './FileIcon.js';

/** The smallest preview at least `size` pixels on its long side (else the largest there is). */
export function pickThumbnail(thumbnails: readonly ThumbnailJson[], size: number): ThumbnailJson | undefined {
  const sorted = [...thumbnails].sort((a, b) => a.size - b.size);
  return sorted.find((thumbnail) => thumbnail.size >= size) ?? sorted.at(-1);
}

const CARD_THUMBNAIL_SIZE = 480;

/**
 * A card's picture: the image's preview once the card nears the viewport (fetched with the
 * token), else an icon for the file's kind. Previewable files open the viewer.
 */
export function CardMedia({ upload, onOpen }: { upload: UploadJson; onOpen: (opener: HTMLElement) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const near = useNearViewport(box);
  const thumbnail = pickThumbnail(upload.thumbnails, CARD_THUMBNAIL_SIZE);
  const image = useAuthorizedBlobUrl(thumbnail?.url, near);
  const decrypted = useDecryptedPreview(upload, near);
  const kind = fileKind(upload);
  const name = displayName(upload);

  const picture =
    decrypted.phase === 'loaded' ? (
      <img data-testid="e2e-preview" src={decrypted.url} alt="" decoding="async" />
    ) : image.phase === 'loaded' && thumbnail ? (
      <img data-testid="thumbnail" src={image.url} alt="" width={thumbnail.width} height={thumbnail.height} decoding="async" />
    ) : (
      <span
        className={image.phase === 'loading' || decrypted.phase === 'loading' ? 'media-placeholder is-loading' : 'media-placeholder'}
        data-testid={upload.encrypted ? `e2e-preview-${decrypted.phase}` : undefined}
        title={decrypted.phase === 'failed' ? `Cannot decrypt the preview: ${decrypted.message}` : decrypted.phase === 'no-key' ? 'End-to-end encrypted: enter the passphrase to see it' : undefined}
      >
        <FileIcon kind={kind} extension={extensionOf(upload.filename)} />
      </span>
    );

  return (
    <div ref={box} className="card-media">
      {canPreview(upload) ? (
        <button
          type="button"
          className="media-button"
          data-testid="open-preview"
          aria-label={kind === 'pdf' ? `Preview the PDF ${name}` : `View ${name} larger`}
          onClick={(event) => onOpen(event.currentTarget)}
        >
          {picture}
        </button>
      ) : (
        picture
      )}
    </div>
  );
}
