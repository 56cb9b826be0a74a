import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as InspectFile from '../../server/src/processing/inspect-file.js';
import type * as VirusScanner from '../../server/src/processing/virus-scanner.js';
import { HAUL_DIST } from './paths.js';
import { report } from './processing-report.js';

/**
 * One run of Haul's processing pass in a fresh process (for the pass's own peak RSS): the built
 * inspectFile over a file, with Haul's clamd scanner. The built server is imported by path, not
 * through the bench's own modules, to keep this process's memory to the pass itself.
 *
 * usage: node bench/dist/lib/haul-inspect.js <file>
 * env: FILENAME (name the client gave; default the file's), CLAMD_HOST (127.0.0.1), CLAMD_PORT (3310),
 *      CLAMD_TIMEOUT_MS (600000), THUMBNAIL_SIZES (160,480,1280), MAX_IMAGE_PIXELS (1e8).
 */

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: haul-inspect.js <file>\n');
  process.exit(2);
}
const built = (module: string) => pathToFileURL(path.join(HAUL_DIST, module)).href;
const { inspectFile }: typeof InspectFile = await import(built('processing/inspect-file.js'));
const { createVirusScanner }: typeof VirusScanner = await import(built('processing/virus-scanner.js'));

const clamd = createVirusScanner({
  host: process.env.CLAMD_HOST || '127.0.0.1',
  port: Number(process.env.CLAMD_PORT || 3310),
  socket: undefined,
  timeoutMs: Number(process.env.CLAMD_TIMEOUT_MS || 600_000),
});
// The same scanner, noting when clamd's verdict arrives (a progress marker; it changes nothing).
let scanDoneAt: number | undefined;
const scanner: VirusScanner.VirusScanner = {
  ping: () => clamd.ping(),
  async start() {
    const scan = await clamd.start();
    scan.verdict.then(() => (scanDoneAt = performance.now()), () => {});
    return scan;
  },
};
await scanner.ping(); // connect (clamscan init + PING) outside the measurement, as a running worker would be
const rssBeforeMiB = process.memoryUsage().rss / 2 ** 20;

const started = performance.now();
const inspection = await inspectFile(fs.createReadStream(file), {
  filename: process.env.FILENAME || path.basename(file),
  scanner,
  wantsThumbnails: (type) => Boolean(type?.startsWith('image/')),
  thumbnailSizes: (process.env.THUMBNAIL_SIZES || '160,480,1280').split(',').map(Number),
  maxImagePixels: Number(process.env.MAX_IMAGE_PIXELS || 1e8),
});
const ms = performance.now() - started;

report({
  ms,
  stages: { scanVerdictAtMs: scanDoneAt === undefined ? undefined : scanDoneAt - started },
  rssBeforeMiB,
  size: inspection.size,
  sha256: inspection.sha256,
  detectedType: inspection.detectedType,
  scan: inspection.scan?.kind,
  thumbnails:
    inspection.thumbnails?.kind === 'done'
      ? inspection.thumbnails.thumbnails.map((t) => ({ size: t.size, width: t.width, height: t.height, bytes: t.webp.length }))
      : inspection.thumbnails?.kind,
});
