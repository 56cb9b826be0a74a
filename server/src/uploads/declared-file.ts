import type { Config } from '../config.js';
import { HaulError } from '../errors.js';
import { ANY_TYPE, canonicalType, categoryOf, isAllowed, isExecutable } from '../processing/file-policy.js';

/**
 * What can be known about a file before its first byte — its declared length, type and name —
 * checked against what processing would decide about it anyway, so a client is told at creation
 * (or when it declares a deferred length) rather than after uploading every byte. Only refusals
 * that processing would certainly reach are made here: the content still decides the rest.
 */

export interface DeclaredFile {
  size: number | undefined;
  filetype: string | null | undefined;
  filename: string | null | undefined;
}

type Limits = Pick<Config, 'uploads' | 'processing'>;

/** Whether finished files are scanned: then nothing over SCAN_MAX_SIZE can become ready. */
const scans = ({ processing }: Limits) =>
  processing.scanMode === 'required' || (processing.scanMode === 'auto' && Boolean(processing.clamd.host || processing.clamd.socket));

/**
 * The largest file that can end up `ready`: MAX_UPLOAD_SIZE, the scanner's limit when files are
 * scanned, and the largest per-category limit of what ALLOWED_TYPES takes. GET /api/config and
 * Tus-Max-Size report this, not a size every larger file would only be rejected after.
 */
export function effectiveMaxSize(config: Limits): number {
  const { uploads, processing } = config;
  const types = processing.allowedTypes;
  const image = (t: string) => t === 'image' || categoryOf(t) === 'image';
  const takesImages = types.some((t) => t === ANY_TYPE || image(t));
  const takesOthers = types.some((t) => t === ANY_TYPE || !image(t));
  const byType = Math.max(takesImages ? processing.maxImageSize : 0, takesOthers ? processing.maxFileSize : 0);
  return Math.min(uploads.maxSize, byType, scans(config) ? processing.scanMaxSize : Infinity);
}

/** Throws what processing would conclude about a file so declared: 413 over a limit, 415 a type never accepted. */
export function checkDeclaredFile({ size, filetype }: DeclaredFile, config: Limits): void {
  const { processing } = config;
  const anything = processing.allowedTypes.includes(ANY_TYPE);
  const declared = filetype?.split(';')[0]!.trim().toLowerCase();
  const type = declared && declared !== 'application/octet-stream' ? canonicalType(declared) : undefined;
  if (type !== undefined) {
    if (isExecutable(type)) throw new HaulError('FILE_NOT_ACCEPTED', `Executable or active content (${type}) is not accepted`);
    // Processing refuses content that disagrees with a declared type, and content of a type not allowed:
    // a declared type outside the allowlist cannot end well (unless anything goes).
    if (!anything && !isAllowed(type, processing.allowedTypes)) throw new HaulError('FILE_NOT_ACCEPTED', `Files of type ${type} are not accepted here`);
  }
  // The name is not judged here: it says less than the type (a `.bin` may hold anything the
  // content check then recognises); the first bytes settle it (tus/content-check.ts).
  if (size === undefined) return;
  if (scans(config) && size > processing.scanMaxSize) {
    throw new HaulError('UPLOAD_TOO_LARGE', `${size} bytes is more than the virus scanner can check (${processing.scanMaxSize} bytes)`);
  }
  const category = type === undefined ? undefined : categoryOf(type);
  if (category === 'image' && size > processing.maxImageSize) {
    throw new HaulError('UPLOAD_TOO_LARGE', `Images may be at most ${processing.maxImageSize} bytes; this one has ${size}`);
  }
  if (category !== undefined && category !== 'image' && size > processing.maxFileSize) {
    throw new HaulError('UPLOAD_TOO_LARGE', `${category} files may be at most ${processing.maxFileSize} bytes; this one has ${size}`);
  }
  const largest = effectiveMaxSize(config);
  if (size > largest) throw new HaulError('UPLOAD_TOO_LARGE', `Files may be at most ${largest} bytes here; this one has ${size}`);
}
