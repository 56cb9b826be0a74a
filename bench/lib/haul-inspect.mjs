// One run of Haul's processing pass in a fresh process (for per-run peak RSS): the built
// inspectFile (server/dist/processing/inspect-file.js) over a file, with Haul's clamd scanner.
// usage: node bench/lib/haul-inspect.mjs <file>
// env: FILENAME (name the client gave; default the file's), CLAMD_HOST (127.0.0.1), CLAMD_PORT (3310),
//      CLAMD_TIMEOUT_MS (600000), THUMBNAIL_SIZES (160,480,1280), MAX_IMAGE_PIXELS (1e8).
// Prints one JSON line: wall time of the pass (clamd already connected), peak RSS, and what it found.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { report } from './processing-report.mjs';

// Not imported from ./haul.mjs: keep this process's memory to the pass itself.
const HAUL_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../server/dist');

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: haul-inspect.mjs <file>\n');
  process.exit(2);
}
const { inspectFile } = await import(path.join(HAUL_DIST, 'processing/inspect-file.js'));
const { createVirusScanner } = await import(path.join(HAUL_DIST, 'processing/virus-scanner.js'));

const clamd = createVirusScanner({
  host: process.env.CLAMD_HOST || '127.0.0.1',
  port: Number(process.env.CLAMD_PORT || 3310),
  socket: undefined,
  timeoutMs: Number(process.env.CLAMD_TIMEOUT_MS || 600_000),
});
// Same scanner, noting when clamd's verdict arrives (a progress marker; it changes nothing).
let scanDoneAt;
const scanner = {
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
