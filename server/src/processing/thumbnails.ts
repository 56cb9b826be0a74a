import os from 'node:os';
import type { Writable } from 'node:stream';
import sharp from 'sharp';

export interface Thumbnail {
  size: number;
  width: number;
  height: number;
  webp: Buffer;
}

export type ThumbnailOutcome =
  | { kind: 'done'; thumbnails: Thumbnail[] }
  /** The format cannot be decoded here (e.g. HEIC): the file is fine, it just has no preview. */
  | { kind: 'unsupported'; reason: string }
  /** The image is broken or hostile: a decompression bomb, truncated or corrupt data. */
  | { kind: 'invalid'; reason: string };

export interface ThumbnailJob {
  input: Writable;
  outcome: Promise<ThumbnailOutcome>;
}

// libvips threads per image; the sizes already run as parallel pipelines, and a worker may
// process several files at once, so use about half the cores.
sharp.concurrency(Math.max(1, Math.floor(os.availableParallelism() / 2)));

const UNSUPPORTED = /heif|unsupported image format|no decode|not a known|bad seek/i;

/**
 * WebP previews at each of `sizes` (long side, never enlarged) from an image written into
 * `input`. EXIF orientation is applied and all metadata (EXIF, GPS, ICC comments) stripped —
 * sharp writes none unless asked. `limitInputPixels` refuses decompression bombs from the
 * header alone. Animated images give their first frame. sharp gathers a streamed input into
 * one buffer before decoding, so callers only hand it images within MAX_IMAGE_SIZE.
 */
export function createThumbnails({ sizes, maxPixels }: { sizes: readonly number[]; maxPixels: number }): ThumbnailJob {
  const image = sharp({ limitInputPixels: maxPixels, failOn: 'error', sequentialRead: true });
  const oriented = image.rotate();
  const outcome = Promise.all(
    sizes.map(async (size) => {
      const { data, info } = await oriented
        .clone()
        .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 80, effort: 3 })
        .toBuffer({ resolveWithObject: true });
      return { size, width: info.width, height: info.height, webp: data };
    }),
  ).then(
    (thumbnails): ThumbnailOutcome => ({ kind: 'done', thumbnails }),
    (error: Error): ThumbnailOutcome => {
      const message = error.message;
      if (/pixel limit/i.test(message)) {
        return { kind: 'invalid', reason: `image dimensions exceed ${maxPixels} pixels (decompression bomb?)` };
      }
      if (UNSUPPORTED.test(message)) return { kind: 'unsupported', reason: `no preview: this image format cannot be decoded here (${message})` };
      return { kind: 'invalid', reason: `image data is corrupt or truncated (${message})` };
    },
  );
  return { input: image, outcome };
}
