import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import NodeClam from 'clamscan';
import { fileTypeFromBuffer } from 'file-type';
import sharp from 'sharp';
import { report } from '../lib/processing-report.js';

/**
 * Baseline: the straightforward way to process an upload — read the whole file into memory,
 * then each stage over the buffer one after another: SHA-256, file-type, clamd (npm clamscan
 * scanStream, same clamd), sharp thumbnails one size at a time. No Haul code.
 *
 * usage: node bench/dist/baselines/naive-processing.js <file>
 * env: CLAMD_HOST (127.0.0.1), CLAMD_PORT (3310), CLAMD_TIMEOUT_MS (600000),
 *      THUMBNAIL_SIZES (160,480,1280), MAX_IMAGE_PIXELS (1e8).
 */

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: naive-processing.js <file>\n');
  process.exit(2);
}
const sizes = (process.env.THUMBNAIL_SIZES || '160,480,1280').split(',').map(Number);
const maxPixels = Number(process.env.MAX_IMAGE_PIXELS || 1e8);

// init() PINGs clamd: connected before the measurement starts, like the pipeline side.
const clam = await new NodeClam().init({
  removeInfected: false,
  quarantineInfected: false,
  debugMode: false,
  preference: 'clamdscan',
  clamscan: { active: false },
  clamdscan: {
    host: process.env.CLAMD_HOST || '127.0.0.1',
    port: Number(process.env.CLAMD_PORT || 3310),
    socket: false,
    timeout: Number(process.env.CLAMD_TIMEOUT_MS || 600_000),
    localFallback: false,
    active: true,
    bypassTest: false,
  },
});
const rssBeforeMiB = process.memoryUsage().rss / 2 ** 20;

const started = performance.now();
const stages: Record<string, number> = {};
let mark = started;
const lap = (stage: string) => {
  const now = performance.now();
  stages[stage] = now - mark;
  mark = now;
};
const buffer = await fs.promises.readFile(file);
lap('readMs');
const sha256 = createHash('sha256').update(buffer).digest('hex');
lap('sha256Ms');
const type = await fileTypeFromBuffer(buffer);
lap('typeMs');
const scan = await clam.scanStream(Readable.from(buffer));
lap('scanMs');
let thumbnails: Array<{ size: number; width: number; height: number; bytes: number }> | undefined;
if (type?.mime.startsWith('image/')) {
  thumbnails = [];
  for (const size of sizes) {
    const { data, info } = await sharp(buffer, { limitInputPixels: maxPixels, failOn: 'error' })
      .rotate()
      .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80, effort: 3 })
      .toBuffer({ resolveWithObject: true });
    thumbnails.push({ size, width: info.width, height: info.height, bytes: data.length });
  }
}
lap('thumbnailsMs');
const ms = performance.now() - started;

report({
  ms,
  stages,
  rssBeforeMiB,
  size: buffer.length,
  sha256,
  detectedType: type?.mime,
  scan: scan.isInfected === false ? 'clean' : scan.isInfected === true ? `infected: ${scan.viruses?.[0]}` : 'no answer',
  thumbnails,
});
