import { fileURLToPath } from 'node:url';
import { type PlainPreview, PREVIEW_MAX_SIDE, type PreparedInput } from '../core/platform.js';

/**
 * Previews in Node for end-to-end encrypted uploads: with `sharp` if the application installed
 * it (an optional peer, never a dependency of the SDK), else none. Images only; anything sharp
 * cannot read gives no preview rather than a failed upload.
 */

/** Inputs larger than this are not decoded for a preview. */
const MAX_PREVIEW_SOURCE = 50 * 2 ** 20;

interface SharpPipeline {
  rotate(): SharpPipeline;
  resize(width: number, height: number, options: { fit: 'inside'; withoutEnlargement: boolean }): SharpPipeline;
  webp(options: { quality: number }): SharpPipeline;
  toBuffer(): Promise<Uint8Array>;
}
type Sharp = (input: string | Uint8Array, options?: { limitInputPixels?: number }) => SharpPipeline;

let sharpModule: Promise<Sharp | null> | undefined;

/** sharp, if installed (the specifier is a variable: bundlers must not try to include it). */
function loadSharp(): Promise<Sharp | null> {
  const specifier = 'sharp';
  sharpModule ??= import(/* @vite-ignore */ specifier).then(
    (loaded: { default?: Sharp }) => loaded.default ?? null,
    () => null,
  );
  return sharpModule;
}

export async function nodePreview(path: string | URL | null, prepared: PreparedInput): Promise<PlainPreview | null> {
  if (prepared.size === null || prepared.size > MAX_PREVIEW_SOURCE) return null;
  const sharp = await loadSharp();
  if (!sharp) return null;
  try {
    const input = path !== null ? (path instanceof URL ? fileURLToPath(path) : path) : prepared.readRange ? await prepared.readRange(0, prepared.size) : null;
    if (input === null) return null;
    const bytes = await sharp(input, { limitInputPixels: 100_000_000 })
      .rotate()
      .resize(PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 75 })
      .toBuffer();
    return { bytes: new Uint8Array(bytes), type: 'image/webp' };
  } catch {
    return null; // not an image sharp reads: no preview
  }
}
