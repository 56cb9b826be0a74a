import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { detectType, SNIFF_BYTES } from './detect-type.js';
import { type PdfActiveContent, PdfActiveContentScanner } from './media/pdf-active-content.js';
import { createThumbnails, type ThumbnailJob, type ThumbnailOutcome } from './thumbnails.js';
import type { ScanVerdict, VirusScanner } from './virus-scanner.js';

export interface Inspection {
  size: number;
  sha256: string;
  detectedType: string | undefined;
  /** undefined: not scanned (SCAN_MODE=off, or the file is empty). */
  scan: ScanVerdict | undefined;
  /** undefined: not an image we make previews of. */
  thumbnails: ThumbnailOutcome | undefined;
  /** Seconds each stage took (for metrics); a stage that did not run is absent. */
  timings: StageTimings;
  /** PDFs only: JavaScript, launch actions, embedded files found in the same pass (issue 13). */
  pdf: PdfActiveContent | undefined;
}

/**
 * The stages run side by side in one pass, so their times overlap: `hash` is the CPU time spent
 * hashing, `type` sniffing the first bytes, `scan` from opening the clamd stream to its verdict,
 * `previews` from the decoder's start to the last preview.
 */
export interface StageTimings {
  hash: number;
  type: number;
  scan?: number;
  previews?: number;
}

const secondsSince = (start: number) => (performance.now() - start) / 1000;

export interface InspectOptions {
  filename: string | null;
  scanner: VirusScanner | undefined;
  /** Called once the type is known: whether to decode this file for previews. */
  wantsThumbnails(detectedType: string | undefined): boolean;
  thumbnailSizes: readonly number[];
  maxImagePixels: number;
}

/** Writes with backpressure; resolves early if `done` settles (the consumer stopped listening). */
async function feed(target: Writable, chunk: Buffer, done?: Promise<unknown>): Promise<void> {
  if (target.destroyed || target.writableEnded) return;
  if (target.write(chunk)) return;
  // The losing waits are cancelled, or every full buffer would leave listeners behind.
  const cancel = new AbortController();
  const quiet = (wait: Promise<unknown>) => wait.catch(() => {});
  const waits = [quiet(once(target, 'drain', { signal: cancel.signal })), quiet(once(target, 'close', { signal: cancel.signal }))];
  if (done) waits.push(quiet(done));
  try {
    await Promise.race(waits);
  } finally {
    cancel.abort();
  }
}

/**
 * One streaming pass over a stored file. Each chunk goes, as it arrives, to the SHA-256, to
 * clamd (INSTREAM) and — once the first SNIFF_BYTES have told us it is an image — to the image
 * decoder; each consumer applies backpressure, so memory stays bounded whatever the size.
 * If clamd finds something before the end, reading stops there.
 */
export async function inspectFile(source: Readable, options: InspectOptions): Promise<Inspection> {
  const hash = createHash('sha256');
  const head: Buffer[] = [];
  let headBytes = 0;
  let size = 0;
  let detectedType: string | undefined;
  let typeKnown = false;
  let thumbnails: ThumbnailJob | undefined;
  let pdf: PdfActiveContentScanner | undefined;
  let scanSettled = false;
  const timings: StageTimings = { hash: 0, type: 0 };
  const scanStart = performance.now();
  let decoderRejected = false;
  let scanCancelled = false;
  const scan = options.scanner ? await options.scanner.start() : undefined;
  const scanEnded = () => {
    scanSettled = true;
    timings.scan = secondsSince(scanStart);
  };
  scan?.verdict.then(scanEnded, scanEnded);
  let previewStart = 0;

  const decideType = async (complete: boolean) => {
    typeKnown = true;
    const sample = Buffer.concat(head);
    const typeStart = performance.now();
    detectedType = await detectType(sample, { complete, filename: options.filename });
    timings.type = secondsSince(typeStart);
    if (detectedType === 'application/pdf') {
      pdf = new PdfActiveContentScanner();
      pdf.write(sample);
    }
    if (options.wantsThumbnails(detectedType)) {
      previewStart = performance.now();
      thumbnails = createThumbnails({ sizes: options.thumbnailSizes, maxPixels: options.maxImagePixels });
      // A broken or hostile image is rejected whatever clamd says: its scan is cancelled (issue 13).
      void thumbnails.outcome.then((outcome) => (decoderRejected = outcome.kind === 'invalid'));
      await feed(thumbnails.input, sample, thumbnails.outcome);
    }
    head.length = 0;
  };

  try {
    for await (const data of source) {
      const chunk = data as Buffer;
      size += chunk.length;
      const hashStart = performance.now();
      hash.update(chunk);
      timings.hash += secondsSince(hashStart);
      if (!typeKnown) {
        head.push(chunk);
        headBytes += chunk.length;
        if (headBytes >= SNIFF_BYTES) await decideType(false);
      } else if (thumbnails) {
        await feed(thumbnails.input, chunk, thumbnails.outcome);
      } else {
        pdf?.write(chunk);
      }
      if (decoderRejected && scan && !scanCancelled) {
        scan.cancel(); // the rest is still hashed, so the recorded SHA-256 is the file's
        scanCancelled = true;
      }
      if (scan && !scanSettled && !scanCancelled) await feed(scan.input, chunk, scan.verdict);
      if (scanSettled && !scanCancelled && (await scan!.verdict.then((v) => v.kind !== 'clean', () => true))) break;
    }
    if (!typeKnown) await decideType(true);
  } catch (error) {
    scan?.cancel();
    thumbnails?.input.destroy();
    throw error;
  } finally {
    source.destroy();
  }

  // Both consumers get the end of input first, so previews are made while clamd finishes.
  thumbnails?.input.end();
  // Nothing to scan in an empty file; and a file the decoder rejected is not worth clamd's time.
  const scanning = scan !== undefined && size > 0 && !scanCancelled;
  if (scanning) scan.input.end();
  else scan?.cancel();
  const thumbnailOutcome = thumbnails ? await thumbnails.outcome : undefined;
  let verdict: ScanVerdict | undefined;
  if (scanning) {
    if (thumbnailOutcome?.kind === 'invalid') scan.cancel();
    else verdict = await scan.verdict;
  }
  if (thumbnails) timings.previews = secondsSince(previewStart);
  return { size, sha256: hash.digest('hex'), detectedType, scan: verdict, thumbnails: thumbnailOutcome, pdf: pdf?.finish(), timings };
}
