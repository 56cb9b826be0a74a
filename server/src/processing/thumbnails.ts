import os from 'node:os';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { isPixelLimitError, renderPreviewsOrThrow } from './media/raster-previews.js';

export interface Thumbnail {
  size: number;
  width: number;
  height: number;
  webp: Buffer;
}

/** The previews of one picture and what they tell a client before any loads. */
export interface Previews {
  /** Displayed size of the source (orientation applied). */
  width: number | undefined;
  height: number | undefined;
  thumbnails: Thumbnail[];
  /** ThumbHash, base64. */
  placeholder: string;
}

export type ThumbnailOutcome =
  | ({ kind: 'done' } & Previews)
  /** The format cannot be decoded here: the file is fine, it just has no preview. */
  | { kind: 'unsupported'; reason: string }
  /** The image is broken or hostile: a decompression bomb, truncated or corrupt data. */
  | { kind: 'invalid'; reason: string };

export interface ThumbnailJob {
  input: Writable;
  outcome: Promise<ThumbnailOutcome>;
}

// libvips threads per image; a worker may process several files at once, so use about half the cores.
sharp.concurrency(Math.max(1, Math.floor(os.availableParallelism() / 2)));

const UNSUPPORTED = /heif|unsupported image format|no decode|not a known|bad seek/i;

/**
 * WebP previews at each of `sizes` (long side, never enlarged), the displayed size and a ThumbHash
 * placeholder of an image written into `input`, from one decode (media/raster-previews.ts). EXIF
 * orientation is applied and all metadata (EXIF, GPS, ICC comments) stripped — sharp writes none
 * unless asked. `limitInputPixels` refuses decompression bombs from the header alone. Animated
 * images give their first frame. sharp needs the whole encoded image at once (it gathered a
 * streamed input into one buffer too), so callers only hand it images within MAX_IMAGE_SIZE.
 */
export function createThumbnails({ sizes, maxPixels }: { sizes: readonly number[]; maxPixels: number }): ThumbnailJob {
  const chunks: Buffer[] = [];
  const input = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const gathered = new Promise<Buffer>((resolve, reject) => {
    input.on('finish', () => resolve(Buffer.concat(chunks)));
    input.on('close', () => reject(new Error('the image ended before all of it was read')));
  });
  const outcome = gathered
    .then((image) => {
      chunks.length = 0;
      return renderPreviewsOrThrow(image, { sizes, maxPixels, autoOrient: true });
    })
    .then(
      (previews): ThumbnailOutcome => ({ kind: 'done', ...previews }),
      (error: Error): ThumbnailOutcome => {
        const message = error.message;
        if (isPixelLimitError(message)) {
          return { kind: 'invalid', reason: `image dimensions exceed ${maxPixels} pixels (decompression bomb?)` };
        }
        if (UNSUPPORTED.test(message)) return { kind: 'unsupported', reason: `no preview: this image format cannot be decoded here (${message})` };
        return { kind: 'invalid', reason: `image data is corrupt or truncated (${message})` };
      },
    );
  return { input, outcome };
}
