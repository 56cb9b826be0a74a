import sharp from 'sharp';
import type { Thumbnail } from '../thumbnails.js';
import { done, fileProblem, type MediaResult } from './media-result.js';
import { placeholderFromRaster, type Raster } from './placeholder.js';

/**
 * The WebP previews and the placeholder of one picture — an image, a video poster, a PDF's first
 * page, a decoded HEIC — from ONE decode: the source is decoded once, straight to the largest
 * size (JPEG and WebP shrink on load, so a 24 MP JPEG is decoded at 1/4 scale), and every
 * smaller size and the ThumbHash are resized from that raster. Making each size from the source
 * decodes it once per size: measured here, one decode is 2.3× (noise, 16 MB) to 3.8× (photo-like,
 * 4 MB) faster for a 24 MP JPEG with three sizes and the placeholder.
 * Output carries no metadata (no EXIF, GPS, XMP, ICC): sharp writes none unless asked.
 */

export interface RasterPreviews {
  /** Displayed size of the source (orientation applied). */
  width: number;
  height: number;
  thumbnails: Thumbnail[];
  /** ThumbHash, base64. */
  placeholder: string;
}

export interface RasterPreviewOptions {
  /** Long sides in pixels (THUMBNAIL_SIZES), never enlarged. */
  sizes: readonly number[];
  /** Refused from the header, before decoding (decompression bombs). */
  maxPixels: number;
  /**
   * Apply the source's EXIF orientation. False for rasters already upright whose EXIF still says
   * otherwise (heif-convert applies `irot` and copies the EXIF orientation unchanged).
   */
  autoOrient: boolean;
}

/**
 * Encoding the largest size dominates the cost once the source is decoded once. Measured here on
 * a 1280×853 photo-like raster: effort 2 takes ~240 ms, effort 3 ~650 ms, for files 1.5% larger.
 */
export const WEBP = { quality: 80, effort: 2 } as const;

/**
 * The previews, or the decoder's error (sharp's message: the pixel limit, corrupt data, an
 * unsupported format), for callers that sort errors themselves (thumbnails.ts).
 */
export async function renderPreviewsOrThrow(input: Buffer | string, options: RasterPreviewOptions): Promise<RasterPreviews> {
  const sizes = [...new Set(options.sizes)].sort((a, b) => b - a);
  const largest = sizes[0];
  if (largest === undefined) throw new Error('renderPreviews needs at least one size');
  const source = sharp(input, { limitInputPixels: options.maxPixels, failOn: 'error', sequentialRead: true });
  const meta = await source.metadata();
  const turned = options.autoOrient && (meta.orientation ?? 1) >= 5;
  const width = turned ? meta.height : meta.width;
  const height = turned ? meta.width : meta.height;
  const oriented = options.autoOrient ? source.rotate() : source;
  const { data, info } = await oriented
    .resize({ width: largest, height: largest, fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const raster: Raster = { data, width: info.width, height: info.height, channels: info.channels };
  const decoded = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
  const [thumbnails, placeholder] = await Promise.all([
    Promise.all(
      sizes.map(async (size) => {
        const resized = size === largest ? decoded.clone() : decoded.clone().resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true });
        const out = await resized.webp(WEBP).toBuffer({ resolveWithObject: true });
        return { size, width: out.info.width, height: out.info.height, webp: out.data };
      }),
    ),
    placeholderFromRaster(raster),
  ]);
  thumbnails.sort((a, b) => a.size - b.size);
  return { width, height, thumbnails, placeholder };
}

export const isPixelLimitError = (message: string) => /pixel limit/i.test(message);

/** `input`: an encoded image (Buffer) or the path of one. */
export async function renderPreviews(input: Buffer | string, options: RasterPreviewOptions): Promise<MediaResult<RasterPreviews>> {
  try {
    return done(await renderPreviewsOrThrow(input, options));
  } catch (error) {
    const message = (error as Error).message;
    if (isPixelLimitError(message)) return fileProblem(`image dimensions exceed ${options.maxPixels} pixels (decompression bomb?)`);
    return fileProblem(`image data is corrupt, truncated or unsupported (${message})`);
  }
}
