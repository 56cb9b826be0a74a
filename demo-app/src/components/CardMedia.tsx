import { type CSSProperties, useMemo, useRef } from 'react';
import type { ThumbnailJson, UploadJson } from '@haul/client';
import { useAuthorizedBlobUrl } from '../hooks/use-blob-url.js';
import { useDecryptedPreview } from '../hooks/use-decrypted-preview.js';
import { useNearViewport } from '../hooks/use-near-viewport.js';
import { canPreview, extensionOf, fileKind } from '../lib/file-kind.js';
import { cardAspectRatio, formatDuration, placeholderDataUrl } from '../lib/media.js';
import { displayName } from '../lib/upload-status.js';
import { FileIcon } from './FileIcon.js';
import { Icon } from './Icon.js';

/** The smallest preview at least `size` pixels on its long side (else the largest there is). */
export function pickThumbnail(thumbnails: readonly ThumbnailJson[], size: number): ThumbnailJson | undefined {
  const sorted = [...thumbnails].sort((a, b) => a.size - b.size);
  return sorted.find((thumbnail) => thumbnail.size >= size) ?? sorted.at(-1);
}

const CARD_THUMBNAIL_SIZE = 480;

/** The card's shape as a CSS variable (gallery.css uses it in the grid, not in the one-column rows). */
function mediaShape(upload: UploadJson): CSSProperties | undefined {
  const ratio = cardAspectRatio(upload.media);
  return ratio ? ({ '--media-ratio': ratio } as CSSProperties) : undefined;
}

/**
 * A card's picture, shaped by the upload's `media` from the start: the ThumbHash placeholder
 * (blurred colours) at once, the preview once the card nears the viewport (fetched with the
 * token), else an icon for the file's kind. Videos show their poster with a play badge and
 * their length. Previewable files open the viewer.
 */
export function CardMedia({ upload, onOpen }: { upload: UploadJson; onOpen: (opener: HTMLElement) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const near = useNearViewport(box);
  const thumbnail = pickThumbnail(upload.thumbnails, CARD_THUMBNAIL_SIZE);
  const image = useAuthorizedBlobUrl(thumbnail?.url, near);
  const placeholder = useMemo(() => placeholderDataUrl(upload.media.placeholder), [upload.media.placeholder]);
  const decrypted = useDecryptedPreview(upload, near);
  const kind = fileKind(upload);
  const name = displayName(upload);
  const { durationMs } = upload.media;

  const picture =
    decrypted.phase === 'loaded' ? (
      <img data-testid="e2e-preview" src={decrypted.url} alt="" decoding="async" />
    ) : image.phase === 'loaded' && thumbnail ? (
      <img data-testid="thumbnail" src={image.url} alt="" width={thumbnail.width} height={thumbnail.height} decoding="async" />
    ) : placeholder ? (
      <img data-testid="placeholder" className="media-blur" src={placeholder} alt="" />
    ) : (
      <span
        className={image.phase === 'loading' || decrypted.phase === 'loading' ? 'media-placeholder is-loading' : 'media-placeholder'}
        data-testid={upload.encrypted ? `e2e-preview-${decrypted.phase}` : undefined}
        title={decrypted.phase === 'failed' ? `Cannot decrypt the preview: ${decrypted.message}` : decrypted.phase === 'no-key' ? 'End-to-end encrypted: enter the passphrase to see it' : undefined}
      >
        <FileIcon kind={kind} extension={extensionOf(upload.filename)} />
      </span>
    );
  const badges = (kind === 'video' || kind === 'audio') && (
    <>
      {kind === 'video' && thumbnail && (
        <span className="play-badge" aria-hidden="true">
          <Icon name="play" />
        </span>
      )}
      {durationMs !== null && (
        <span className="duration-badge" data-testid="duration">
          {formatDuration(durationMs)}
        </span>
      )}
    </>
  );
  const label = kind === 'pdf' ? `Preview the PDF ${name}` : kind === 'video' ? `Play ${name}` : `View ${name} larger`;

  return (
    <div ref={box} className="card-media" data-testid="card-media" style={mediaShape(upload)}>
      {canPreview(upload) ? (
        <button type="button" className="media-button" data-testid="open-preview" aria-label={label} onClick={(event) => onOpen(event.currentTarget)}>
          {picture}
          {badges}
        </button>
      ) : (
        <>
          {picture}
          {badges}
        </>
      )}
    </div>
  );
}
