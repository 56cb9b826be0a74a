import type { MediaJson } from '@haul/client';
import { thumbHashToDataURL } from 'thumbhash';

/**
 * What a card knows before any preview loads (the upload's `media`): its shape, and the
 * ThumbHash placeholder painted as a blurred stand-in, so the gallery does not jump.
 */

/** Cards follow the picture's shape within these bounds (a panorama or a receipt stays a card). */
const WIDEST = 2;
const TALLEST = 1 / 2;

/** The card's CSS aspect-ratio from the displayed size, or undefined (the default 4 / 3). */
export function cardAspectRatio(media: Pick<MediaJson, 'width' | 'height'>): string | undefined {
  if (!media.width || !media.height) return undefined;
  const ratio = Math.min(WIDEST, Math.max(TALLEST, media.width / media.height));
  return `${Math.round(ratio * 1000) / 1000}`;
}

/** The placeholder as a PNG data URL (~1 ms to decode), or undefined if there is none or it is malformed. */
export function placeholderDataUrl(placeholder: string | null): string | undefined {
  if (!placeholder) return undefined;
  try {
    return thumbHashToDataURL(Uint8Array.from(atob(placeholder), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

/** 83 000 ms → "1:23"; an hour or more → "1:02:03". */
export function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}
