import sharp from 'sharp';
import { rgbaToThumbHash, thumbHashToRGBA } from 'thumbhash';

/**
 * ThumbHash placeholders (https://evanw.github.io/thumbhash/, npm `thumbhash`, MIT): ~25 bytes
 * that a client turns into a blurred preview with the image's colours and aspect ratio, so a chat
 * can lay out and paint a message before any image loads. The algorithm takes at most 100×100
 * RGBA pixels; more detail would not survive its few DCT coefficients anyway.
 */
export const PLACEHOLDER_MAX_SIDE = 100;

export interface Raster {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/** The ThumbHash (base64) of a decoded raster of any size (a preview-sized one is cheapest). */
export async function placeholderFromRaster(raster: Raster): Promise<string> {
  const { data, info } = await sharp(raster.data, { raw: { width: raster.width, height: raster.height, channels: raster.channels } })
    .resize({ width: PLACEHOLDER_MAX_SIDE, height: PLACEHOLDER_MAX_SIDE, fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb')
    .ensureAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64');
}

/** Decodes a placeholder back to RGBA (what a client renders; used by tests and the demo). */
export function renderPlaceholder(base64: string): { width: number; height: number; rgba: Uint8Array } {
  const { w, h, rgba } = thumbHashToRGBA(Buffer.from(base64, 'base64'));
  return { width: w, height: h, rgba };
}
