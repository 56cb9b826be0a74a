import path from 'node:path';
import { DEFAULT_LIMITS, done, fileProblem, sandboxFailure, type MediaResult } from './media-result.js';
import { runSandboxed } from './sandbox.js';
import type { MediaToolOptions } from './video.js';

/**
 * PDFs through poppler (Debian's poppler-utils): `pdfinfo` for the page count and encryption,
 * `pdftoppm` for the first page. Both only read the file (poppler has no network code) and run
 * sandboxed. A PDF that needs a password to open is not an error: it has a page count of null
 * and no preview. Active content is found separately, without poppler (pdf-active-content.ts).
 */

export interface PdfInfo {
  /** null when the PDF cannot be opened without its password. */
  pages: number | null;
  encrypted: boolean;
  /** Encrypted with a user password: nothing can be read or rendered. */
  passwordRequired: boolean;
}

/** poppler's message when the (empty) user password does not open the file. */
const WRONG_PASSWORD = /incorrect password/i;

/** Poppler tools take a path; an absolute one can never be read as an option. */
function argument(file: string): string {
  return path.resolve(file);
}

export async function readPdfInfo(file: string, options: MediaToolOptions = {}): Promise<MediaResult<PdfInfo>> {
  const outcome = await runSandboxed({
    command: 'pdfinfo',
    args: [argument(file)],
    limits: options.limits ?? DEFAULT_LIMITS.pdfInfo,
    signal: options.signal,
  });
  if (outcome.kind === 'failed' && WRONG_PASSWORD.test(outcome.stderrTail)) {
    return done({ pages: null, encrypted: true, passwordRequired: true });
  }
  if (outcome.kind !== 'ok') return sandboxFailure('pdfinfo', outcome);
  const text = outcome.stdout.toString('latin1');
  const pages = /^Pages:\s+(\d+)\s*$/m.exec(text);
  if (!pages) return fileProblem('pdfinfo found no page count');
  const encrypted = /^Encrypted:\s+yes/m.test(text);
  return done({ pages: Number(pages[1]), encrypted, passwordRequired: false });
}

export interface FirstPageOptions extends MediaToolOptions {
  /** Long side of the rendering in pixels (the largest preview size). */
  maxSide: number;
}

/**
 * The first page as a PNG whose long side is `maxSide`: `-scale-to` fixes the output size
 * whatever the page size says (a 200-inch page is not rendered at 200 inches × 150 dpi), so
 * memory and time depend on maxSide, not on the file. The crop box is what viewers show.
 */
export async function renderFirstPage(file: string, options: FirstPageOptions): Promise<MediaResult<Buffer>> {
  const outcome = await runSandboxed({
    command: 'pdftoppm',
    args: ['-f', '1', '-l', '1', '-singlefile', '-cropbox', '-png', '-scale-to', String(Math.floor(options.maxSide)), argument(file)],
    limits: options.limits ?? DEFAULT_LIMITS.pdfPage,
    signal: options.signal,
  });
  if (outcome.kind === 'failed' && WRONG_PASSWORD.test(outcome.stderrTail)) return fileProblem('the PDF needs a password to open: no preview');
  if (outcome.kind !== 'ok') return sandboxFailure('pdftoppm', outcome);
  if (outcome.stdout.length === 0) return fileProblem('pdftoppm rendered nothing');
  return done(outcome.stdout);
}
