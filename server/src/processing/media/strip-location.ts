import { Transform } from 'node:stream';
import { createHeifEditor } from './strip-location-heif.js';
import { createJpegEditor } from './strip-location-jpeg.js';
import { createPngEditor } from './strip-location-png.js';
import { createWebpEditor } from './strip-location-webp.js';

/**
 * Location stripped from originals, as a stream: the stored file is piped through
 * `createLocationStripper(mime).stream` to whatever serves or re-stores it. Memory is bounded by
 * the largest metadata block held for editing (a JPEG APP1 segment ≤ 64 KiB, a PNG/WebP EXIF or
 * XMP chunk ≤ 4 MiB, a HEIF `meta` box ≤ 16 MiB), never by the file: image data streams through.
 *
 * | format | what is changed                                                     | length    |
 * |--------|---------------------------------------------------------------------|-----------|
 * | JPEG   | GPS IFD out of EXIF, GPS properties of XMP/extended XMP blanked     | unchanged |
 * | PNG    | same for `eXIf` (CRC recomputed); EXIF/XMP text profiles dropped     | shorter   |
 * | WebP   | same for the `EXIF` and `XMP ` chunks                               | unchanged |
 * | HEIF   | same for `Exif` and XMP (`mime`) items, in place where `iloc` says  | unchanged |
 * Orientation and every other tag stay, and pixel data is never decoded or touched: for JPEG the
 * entropy-coded data is byte-identical (tests compare it and the decoded pixels).
 *
 * The stream fails (error) on a structure it cannot follow, so a caller never serves a file it
 * believes clean but is not: fail closed.
 */

export interface StripReport {
  /** Whether any location (EXIF GPS, XMP GPS properties, a profile holding them) was removed. */
  locationFound: boolean;
  /** Anything done beyond the plain edit (a block zeroed because it could not be parsed, …). */
  notes: string[];
}

/** One format's editor: consumes the file in order, pushes the edited bytes. */
export interface LocationEditor {
  write(chunk: Buffer, push: (data: Buffer) => void): void;
  end(push: (data: Buffer) => void): StripReport;
}

export interface LocationStripper {
  stream: Transform;
  /** Settles when the stream ends (or fails with the stream's error). */
  report: Promise<StripReport>;
}

const EDITORS: Record<string, () => LocationEditor> = {
  'image/jpeg': createJpegEditor,
  'image/png': createPngEditor,
  'image/webp': createWebpEditor,
  'image/heic': createHeifEditor,
  'image/heif': createHeifEditor,
  'image/avif': createHeifEditor,
};

/** The formats whose location can be stripped (others carry none we know of, or cannot be edited). */
export function canStripLocation(mime: string): boolean {
  return mime in EDITORS;
}

export function createLocationStripper(mime: string): LocationStripper {
  const makeEditor = EDITORS[mime];
  if (!makeEditor) throw new Error(`location stripping does not support ${mime}`);
  const editor = makeEditor();
  let settle!: { resolve: (r: StripReport) => void; reject: (e: Error) => void };
  const report = new Promise<StripReport>((resolve, reject) => (settle = { resolve, reject }));
  report.catch(() => {}); // the stream's error is the caller's signal; this promise mirrors it
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        editor.write(chunk, (data) => this.push(data));
        callback();
      } catch (error) {
        settle.reject(error as Error);
        callback(error as Error);
      }
    },
    flush(callback) {
      try {
        settle.resolve(editor.end((data) => this.push(data)));
        callback();
      } catch (error) {
        settle.reject(error as Error);
        callback(error as Error);
      }
    },
  });
  stream.on('close', () => settle.reject(new Error('location stripping did not finish')));
  return { stream, report };
}
