import { removeGpsInPlace } from './exif.js';
import { parseHeifMeta, type HeifExtent } from './heif-boxes.js';
import type { LocationEditor } from './strip-location.js';
import { blankXmpLocation } from './xmp-location.js';

/**
 * HEIF/HEIC/AVIF: the EXIF and XMP live in items whose bytes `iloc` locates (usually in `mdat`,
 * sometimes in `idat`). The head of the file is held until the `meta` box is complete (≤ 16 MiB;
 * writers put it first), then every byte streams through except those of the metadata items,
 * held one item at a time and edited in place (GPS IFD out of the EXIF, GPS properties of the XMP
 * blanked). No length changes, so `iloc` stays valid and image data is untouched. Fail closed:
 * metadata spread over several extents or larger than MAX_ITEM_BYTES is overwritten whole (zeros,
 * spaces); a `meta` box after the data, or one that does not parse, is an error.
 */

const MAX_HEAD_BYTES = 16 * 1024 * 1024;
const MAX_ITEM_BYTES = 4 * 1024 * 1024;
const XMP_TYPE = 'application/rdf+xml';

interface Target {
  kind: 'exif' | 'xmp';
  /** Overwritten whole rather than parsed (several extents, or too large). */
  overwrite: boolean;
  extent: HeifExtent;
}

export function createHeifEditor(): LocationEditor {
  let head: Buffer[] | null = [];
  let headBytes = 0;
  let nextAttempt = 4096;
  /** Position in the file of the next byte to come. */
  let position = 0;
  let targets: Target[] = [];
  /** The target being collected, and its bytes so far. */
  let current: { target: Target; parts: Buffer[] } | null = null;
  let found = false;
  const notes: string[] = [];

  const edit = (target: Target, data: Buffer) => {
    if (target.overwrite) {
      data.fill(target.kind === 'exif' ? 0 : 0x20);
      found = true;
      return;
    }
    if (target.kind === 'xmp') {
      if (blankXmpLocation([data])) found = true;
      return;
    }
    // ISO/IEC 23008-12 A.2.1: the Exif item starts with exif_tiff_header_offset (u32), then the
    // block ("Exif\0\0" usually) whose TIFF header is at that offset.
    const tiffAt = data.length >= 4 ? 4 + data.readUInt32BE(0) : data.length;
    const result = tiffAt < data.length ? removeGpsInPlace(data.subarray(tiffAt)) : 'unparseable';
    if (result !== 'none') found = true;
    if (result === 'unparseable') {
      data.fill(0, Math.min(4, data.length));
      notes.push('EXIF could not be parsed: zeroed');
    }
  };

  const plan = (buffer: Buffer) => {
    const parsed = parseHeifMeta(buffer);
    if (parsed.kind === 'invalid') throw new Error(parsed.reason);
    if (parsed.kind === 'incomplete') return false;
    for (const item of parsed.meta.items) {
      const kind = item.type === 'Exif' ? 'exif' : item.type === 'mime' && item.contentType === XMP_TYPE ? 'xmp' : null;
      if (!kind) continue;
      if (!item.extents) throw new Error('HEIF metadata item stored outside plain file offsets');
      const overwrite = item.extents.length > 1 || item.extents.some((x) => x.length > MAX_ITEM_BYTES);
      if (overwrite) notes.push(`${kind === 'exif' ? 'an EXIF' : 'an XMP'} item that cannot be edited in place was overwritten`);
      for (const extent of item.extents) targets.push({ kind, overwrite, extent });
    }
    targets.sort((a, b) => a.extent.offset - b.extent.offset);
    for (let i = 1; i < targets.length; i++) {
      const previous = targets[i - 1]!.extent;
      if (previous.offset + previous.length > targets[i]!.extent.offset) throw new Error('HEIF metadata items overlap');
    }
    return true;
  };

  /** Streams data starting at file position `position`, holding and editing target ranges. */
  const pass = (data: Buffer, push: (d: Buffer) => void) => {
    let i = 0;
    while (i < data.length) {
      const at = position + i;
      while (targets.length && targets[0]!.extent.offset + targets[0]!.extent.length <= at && !current) {
        // A target wholly before this point was in the held head already, or is empty.
        targets.shift();
      }
      const next = targets[0];
      if (current) {
        const { extent } = current.target;
        const take = Math.min(extent.offset + extent.length - at, data.length - i);
        current.parts.push(Buffer.from(data.subarray(i, i + take)));
        i += take;
        if (position + i === extent.offset + extent.length) {
          const bytes = Buffer.concat(current.parts);
          edit(current.target, bytes);
          push(bytes);
          current = null;
          targets.shift();
        }
      } else if (next && next.extent.offset <= at) {
        current = { target: next, parts: [] };
      } else {
        const until = next ? Math.min(data.length, next.extent.offset - position) : data.length;
        push(data.subarray(i, until));
        i = until;
      }
    }
    position += data.length;
  };

  return {
    write(chunk, push) {
      if (!head) return pass(chunk, push);
      head.push(chunk);
      headBytes += chunk.length;
      // Parse again only when the head has doubled: linear work whatever the chunk size.
      if (headBytes < nextAttempt) return;
      nextAttempt = headBytes * 2;
      const buffer = Buffer.concat(head);
      head = [buffer];
      if (!plan(buffer)) {
        if (headBytes > MAX_HEAD_BYTES) throw new Error('HEIF meta box not found in the first 16 MiB (metadata after the image data?)');
        return;
      }
      head = null;
      pass(buffer, push);
    },
    end(push) {
      if (head) {
        const buffer = Buffer.concat(head);
        if (!plan(buffer)) throw new Error('HEIF file without a complete meta box');
        head = null;
        pass(buffer, push);
      }
      if (current || targets.some((t) => t.extent.length > 0)) throw new Error('HEIF file ends before its metadata items');
      return { locationFound: found, notes };
    },
  };
}
