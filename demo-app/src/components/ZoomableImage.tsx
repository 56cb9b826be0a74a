import { useLayoutEffect, useRef, useState } from 'react';
import type { UploadJson } from '@haul/client';
import { useAuthorizedBlobUrl } from '../hooks/use-blob-url.js';
import { displayName } from '../lib/upload-status.js';
import { pickThumbnail } from './CardMedia.js';

/** Zoom relative to the fitted size. */
export const ZOOM_STEPS = [1.5, 2, 3, 4] as const;
export type Zoom = 'fit' | (typeof ZOOM_STEPS)[number];

const LIGHTBOX_SIZE = 1280;

/**
 * The largest preview (1280 px by default — never the original, which could be a 100-megapixel
 * file), fitted to the screen; zoomed, it scrolls to pan. A click toggles fit and 2×.
 */
export function ZoomableImage({ upload, zoom, onZoomChange }: { upload: UploadJson; zoom: Zoom; onZoomChange: (zoom: Zoom) => void }) {
  const thumbnail = pickThumbnail(upload.thumbnails, LIGHTBOX_SIZE);
  const image = useAuthorizedBlobUrl(thumbnail?.url, true);
  const img = useRef<HTMLImageElement>(null);
  const area = useRef<HTMLDivElement>(null);
  // Which point of the image is in the middle of the view (0–1 each way), kept across zoom steps.
  const centre = useRef({ x: 0.5, y: 0.5 });
  // The fitted width, measured while fitted: zoom levels multiply it.
  const [fitted, setFitted] = useState<number | null>(null);

  useLayoutEffect(() => {
    const element = img.current;
    if (!element || zoom !== 'fit') return;
    const measure = () => setFitted(element.getBoundingClientRect().width || null);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, [zoom, image.phase]);

  const zoomed = zoom !== 'fit' && fitted !== null;

  useLayoutEffect(() => {
    const element = area.current;
    if (!element || !zoomed) {
      centre.current = { x: 0.5, y: 0.5 };
      return;
    }
    element.scrollLeft = centre.current.x * element.scrollWidth - element.clientWidth / 2;
    element.scrollTop = centre.current.y * element.scrollHeight - element.clientHeight / 2;
  }, [zoom, zoomed]);

  const remember = () => {
    const element = area.current;
    if (!element || !zoomed) return;
    centre.current = {
      x: (element.scrollLeft + element.clientWidth / 2) / element.scrollWidth,
      y: (element.scrollTop + element.clientHeight / 2) / element.scrollHeight,
    };
  };

  if (image.phase === 'failed') return <p className="viewer-message">The preview could not be loaded. Download the file to see it.</p>;
  if (image.phase !== 'loaded' || !thumbnail) return <p className="viewer-message">Loading the preview…</p>;

  return (
    <div
      ref={area}
      className={zoomed ? 'zoom-area is-zoomed' : 'zoom-area'}
      tabIndex={zoomed ? 0 : -1}
      aria-label={zoomed ? 'Zoomed image: scroll or use the arrow keys to pan' : undefined}
      onScroll={remember}
    >
      <img
        ref={img}
        src={image.url}
        alt={`Preview of ${displayName(upload)}`}
        width={thumbnail.width}
        height={thumbnail.height}
        style={zoomed ? { width: fitted * zoom, maxWidth: 'none', maxHeight: 'none' } : undefined}
        onClick={() => onZoomChange(zoom === 'fit' ? 2 : 'fit')}
      />
    </div>
  );
}
