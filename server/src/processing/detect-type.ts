import { fileTypeFromBuffer } from 'file-type';

/** How much of the head of a file type detection looks at (file-type reads zip entries in it). */
export const SNIFF_BYTES = 64 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const BINARY_ONLY = new Set(['text/xml', 'application/xml']);

/** Valid UTF-8 without NULs, allowing a multi-byte character cut off at the end of the sample. */
function looksLikeText(head: Buffer, complete: boolean): boolean {
  if (head.length === 0 || head.includes(0)) return false;
  for (let trim = 0; trim <= (complete ? 0 : 3); trim++) {
    try {
      utf8.decode(head.subarray(0, head.length - trim));
      return true;
    } catch {
      // try once more without a possibly truncated last character
    }
  }
  return false;
}

/**
 * The content type of a file from its first bytes. Formats with magic numbers come from
 * `file-type`; text has none, so it is decided by a bounded content check (valid UTF-8, no NUL
 * in the first SNIFF_BYTES), never by the name alone — the name only chooses between
 * text/plain and text/csv, and HTML/SVG/scripts are recognised as such so they can be refused.
 */
export async function detectType(head: Buffer, { complete, filename }: { complete: boolean; filename: string | null }): Promise<string | undefined> {
  const magic = await fileTypeFromBuffer(head);
  if (magic && !BINARY_ONLY.has(magic.mime)) return magic.mime;
  if (!looksLikeText(head, complete)) return magic?.mime;
  const start = head.subarray(0, 1024).toString('utf8').trimStart().toLowerCase();
  if (start.startsWith('#!')) return 'text/x-shellscript';
  if (/^(<!doctype html|<html|<head|<body|<script|<iframe)/.test(start)) return 'text/html';
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!doctype svg|<svg)/.test(start)) return 'image/svg+xml';
  if (start.startsWith('<?xml')) return 'application/xml';
  return /\.(csv|tsv)$/i.test(filename ?? '') ? 'text/csv' : 'text/plain';
}
