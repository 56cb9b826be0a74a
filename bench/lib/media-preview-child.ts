import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as MediaPreviews from '../../server/src/processing/media-previews.js';
import type * as Placeholder from '../../server/src/processing/media/placeholder.js';
import type * as RasterPreviews from '../../server/src/processing/media/raster-previews.js';
import { HAUL_DIST } from './paths.js';

/**
 * One preview job in a fresh process (for its own peak RSS), with the built server's code:
 * - `one-decode <jpeg>`: Haul's image path — the encoded image in memory (as the pipeline gathers
 *   it), decoded once, every WebP size and the ThumbHash from that raster (renderPreviews).
 * - `sequential <jpeg>`: the baseline — sharp makes each size from the encoded image, one after
 *   another (a decode per size), then the placeholder from one more decode.
 * - `media <file> <mime>`: Haul's describeMedia, as the worker runs it on a stored video or PDF
 *   (ffprobe + ffmpeg poster, or pdfinfo + pdftoppm, each sandboxed; then renderPreviews).
 * Prints one JSON line: { ms, peakRssMiB (this Node process: the worker's side; decoders are
 * separate, prlimit-bounded processes), sizes, media, note }.
 * env: THUMBNAIL_SIZES (160,480,1280), MAX_IMAGE_PIXELS (1e8).
 */

const [task, file, mime] = process.argv.slice(2);
if (!task || !file) {
  process.stderr.write('usage: media-preview-child.js one-decode|sequential|media <file> [mime]\n');
  process.exit(2);
}
const built = (module: string) => pathToFileURL(path.join(HAUL_DIST, module)).href;
const { renderPreviews, WEBP }: typeof RasterPreviews = await import(built('processing/media/raster-previews.js'));
const { placeholderFromRaster }: typeof Placeholder = await import(built('processing/media/placeholder.js'));
const { describeMedia }: typeof MediaPreviews = await import(built('processing/media-previews.js'));
const { default: sharp } = await import('sharp');

const sizes = (process.env.THUMBNAIL_SIZES || '160,480,1280').split(',').map(Number);
const maxPixels = Number(process.env.MAX_IMAGE_PIXELS || 1e8);

async function sequential(image: Buffer) {
  const made: Array<{ size: number; width: number; height: number }> = [];
  for (const size of sizes) {
    const { info } = await sharp(image, { limitInputPixels: maxPixels }).rotate()
      .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
      .webp(WEBP).toBuffer({ resolveWithObject: true }); // the same encoder settings as Haul
    made.push({ size, width: info.width, height: info.height });
  }
  const { data, info } = await sharp(image, { limitInputPixels: maxPixels }).rotate().resize(100, 100, { fit: 'inside' }).raw().toBuffer({ resolveWithObject: true });
  const placeholder = await placeholderFromRaster({ data, width: info.width, height: info.height, channels: info.channels });
  return { made, placeholder };
}

const started = performance.now();
let result: Record<string, unknown>;
if (task === 'one-decode') {
  const previews = await renderPreviews(await fs.readFile(file), { sizes, maxPixels, autoOrient: true });
  if (previews.kind !== 'done') throw new Error(previews.reason);
  result = { sizes: previews.value.thumbnails.map((t) => t.width), placeholder: previews.value.placeholder.length };
} else if (task === 'sequential') {
  const { made, placeholder } = await sequential(await fs.readFile(file));
  result = { sizes: made.map((t) => t.width), placeholder: placeholder.length };
} else {
  const found = await describeMedia(file, mime ?? '', { sizes, maxPixels, timeLimitMs: 60_000 });
  result = { sizes: found.thumbnails.map((t) => t.width), media: found.media, note: found.note };
}
const ms = performance.now() - started;
const usage = process.resourceUsage();
process.stdout.write(`${JSON.stringify({ ms, peakRssMiB: usage.maxRSS / 1024, ...result })}\n`);
process.exit(0);
