import { parseHeifMeta } from '../../server/src/processing/media/heif-boxes.js';

/**
 * Edits of real HEIF files from heif-enc, for what it cannot write:
 * - `addRotation`: an `irot` property on the primary image, as iPhones write (with the EXIF
 *   orientation still saying the same): the box goes at the end of `ipco`, one association byte
 *   into the primary's `ipma` entry, the enclosing sizes grow, and every `iloc` offset after the
 *   `meta` box moves by the bytes added.
 * - `declareSize`: the primary's `ispe` says another size (a decompression bomb's header).
 * Both assume heif-enc 1.15's layout: ftyp, meta (iloc v0/v1 with 4-byte offsets, before iprp;
 * ipma v0 with 1-byte associations), mdat.
 */

function findBox(file: Buffer, type: string, from: number, to: number): { start: number; end: number } {
  for (let at = from; at + 8 <= to; ) {
    const size = file.readUInt32BE(at);
    if (file.toString('latin1', at + 4, at + 8) === type) return { start: at, end: at + size };
    at += size;
  }
  throw new Error(`no ${type} box`);
}

function grow(file: Buffer, box: { start: number }, by: number) {
  file.writeUInt32BE(file.readUInt32BE(box.start) + by, box.start);
}

/** irot angle: multiples of 90° anti-clockwise (ISO/IEC 23008-12 6.5.10); 3 = 90° clockwise. */
export function addRotation(input: Buffer, angle: 0 | 1 | 2 | 3): Buffer {
  const meta = findBox(input, 'meta', 0, input.length);
  const iprp = findBox(input, 'iprp', meta.start + 12, meta.end);
  const ipco = findBox(input, 'ipco', iprp.start + 8, iprp.end);
  const ipma = findBox(input, 'ipma', iprp.start + 8, iprp.end);
  const iloc = findBox(input, 'iloc', meta.start + 12, meta.end);
  const parsed = parseHeifMeta(input);
  if (parsed.kind !== 'meta') throw new Error('not a HEIF file');
  const primary = parsed.meta.primaryItemId!;
  if (iloc.start > ipco.start) throw new Error('iloc after iprp: not the layout this helper knows');
  let properties = 0;
  for (let at = ipco.start + 8; at < ipco.end; at += input.readUInt32BE(at)) properties++;

  // ipma v0: entry_count (4), then per item: id (2), count (1), one byte per association.
  let entryAt = ipma.start + 16;
  for (let i = 0; i < input.readUInt32BE(ipma.start + 12); i++) {
    const id = input.readUInt16BE(entryAt);
    const count = input[entryAt + 2]!;
    if (id === primary) break;
    entryAt += 3 + count;
  }
  const insertAssociationAt = entryAt + 3 + input[entryAt + 2]!;
  const irot = Buffer.from([0, 0, 0, 9, 0x69, 0x72, 0x6f, 0x74, angle]);
  const output = Buffer.concat([
    input.subarray(0, ipco.end),
    irot,
    input.subarray(ipco.end, insertAssociationAt),
    Buffer.from([0x80 | (properties + 1)]), // essential: transformative properties must be
    input.subarray(insertAssociationAt),
  ]);
  const added = irot.length + 1;
  // Sizes and counts: in the output, boxes before the insertion points keep their positions.
  grow(output, meta, added);
  grow(output, iprp, added);
  grow(output, ipco, irot.length);
  const shiftedIpma = ipma.start + irot.length;
  grow(output, { start: shiftedIpma }, 1);
  output[entryAt + irot.length + 2] = input[entryAt + 2]! + 1;
  // iloc v1 comes before iprp in heif-enc's meta, so its position is unchanged.
  const sizes = output.readUInt16BE(iloc.start + 12);
  const [offsetSize, lengthSize, baseOffsetSize, indexSize] = [sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15, sizes & 15];
  if (offsetSize !== 4 || indexSize !== 0) throw new Error('iloc field sizes this helper does not know');
  const version = output[iloc.start + 8]!;
  let at = iloc.start + 16;
  for (let i = 0, count = output.readUInt16BE(iloc.start + 14); i < count; i++) {
    // v0: item_ID, data_reference_index; v1 adds construction_method between them.
    const method = version === 0 ? 0 : output.readUInt16BE(at + 2) & 15;
    at += version === 0 ? 4 : 6;
    const base = at;
    at += baseOffsetSize;
    const extents = output.readUInt16BE(at);
    at += 2;
    for (let k = 0; k < extents; k++, at += offsetSize + lengthSize) {
      if (method !== 0) continue;
      if (baseOffsetSize === 4 && k === 0) output.writeUInt32BE(output.readUInt32BE(base) + added, base);
      else if (baseOffsetSize === 0) output.writeUInt32BE(output.readUInt32BE(at) + added, at);
    }
  }
  return output;
}

/** Makes every `ispe` of the file declare width×height. */
export function declareSize(input: Buffer, width: number, height: number): Buffer {
  const output = Buffer.from(input);
  for (let at = output.indexOf('ispe'); at !== -1; at = output.indexOf('ispe', at + 4)) {
    output.writeUInt32BE(width, at + 8);
    output.writeUInt32BE(height, at + 12);
  }
  return output;
}
