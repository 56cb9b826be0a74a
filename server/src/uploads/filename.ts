import { HaulError } from '../errors.js';

const MAX_FILENAME_BYTES = 255;
// C0/C1 controls, DEL, and Unicode format characters that can disguise a name:
// bidi overrides/isolates (e.g. "invoice\u202Efdp.exe" shows as "invoiceexe.pdf"), zero-width characters.
// biome-ignore lint: control characters are the point of this pattern
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/u;

/**
 * Validates a client-supplied filename and returns the form we store. We reject rather than
 * silently rewrite hostile names so the client learns why; the stored name is NFC-normalised
 * and trimmed, and never contains a path.
 */
export function sanitizeFilename(raw: string): string {
  const name = raw.normalize('NFC').trim();
  if (name.length === 0) throw new HaulError('INVALID_FILENAME', 'filename must not be empty');
  if (FORBIDDEN.test(name)) throw new HaulError('INVALID_FILENAME', 'filename contains control or invisible formatting characters');
  if (/[/\\]/.test(name)) throw new HaulError('INVALID_FILENAME', 'filename must not contain path separators');
  if (name === '.' || name === '..') throw new HaulError('INVALID_FILENAME', 'filename must not be "." or ".."');
  if (Buffer.byteLength(name, 'utf8') > MAX_FILENAME_BYTES) {
    throw new HaulError('INVALID_FILENAME', `filename must be at most ${MAX_FILENAME_BYTES} bytes of UTF-8`);
  }
  return name;
}
