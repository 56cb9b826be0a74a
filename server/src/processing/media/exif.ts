/**
 * EXIF (a TIFF structure: header, chains of IFDs of 12-byte entries) read and edited in place.
 * Location is removed without changing the length of the EXIF block, so no offset anywhere moves —
 * inside the EXIF, in the JPEG (MPF indexes of secondary images), in a HEIF's `iloc` — and
 * everything else survives untouched (orientation above all, which viewers need):
 * - the GPSInfo entry (tag 0x8825) is taken out of its IFD: later entries move up 12 bytes, the
 *   count drops by one, the freed 12 bytes at the end become zeros;
 * - the GPS IFD it pointed to and every value it points to are overwritten with zeros.
 * A structure we cannot follow (offsets out of bounds, loops) is reported as `unparseable`: the
 * caller then zeroes the whole block (fail closed: the EXIF is lost, the location with it).
 */

const GPS_INFO = 0x8825;
const ORIENTATION = 0x0112;
/** Bytes per value of each TIFF field type (1 BYTE … 13 IFD). */
const TYPE_SIZES = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4];
const MAX_IFDS = 16;

export type GpsRemoval = 'removed' | 'none' | 'unparseable';

interface Tiff {
  data: Buffer;
  little: boolean;
}

function u16(t: Tiff, at: number): number {
  return t.little ? t.data.readUInt16LE(at) : t.data.readUInt16BE(at);
}
function u32(t: Tiff, at: number): number {
  return t.little ? t.data.readUInt32LE(at) : t.data.readUInt32BE(at);
}

function openTiff(data: Buffer): Tiff | undefined {
  if (data.length < 8) return undefined;
  const order = data.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return undefined;
  const tiff = { data, little: order === 'II' };
  return u16(tiff, 2) === 42 ? tiff : undefined;
}

interface Entry {
  at: number;
  tag: number;
  type: number;
  count: number;
  /** Where the value is: inside the entry (≤ 4 bytes) or at an offset. */
  valueAt: number;
  valueBytes: number;
}

/** The entries of the IFD at `offset`, or undefined if it does not fit in the data. */
function readIfd(t: Tiff, offset: number): { entries: Entry[]; nextAt: number } | undefined {
  if (offset < 8 || offset + 2 > t.data.length) return undefined;
  const count = u16(t, offset);
  const nextAt = offset + 2 + 12 * count;
  if (nextAt + 4 > t.data.length) return undefined;
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const at = offset + 2 + 12 * i;
    const type = u16(t, at + 2);
    const count = u32(t, at + 4);
    const valueBytes = (TYPE_SIZES[type] ?? 1) * count;
    entries.push({ at, tag: u16(t, at), type, count, valueAt: valueBytes <= 4 ? at + 8 : u32(t, at + 8), valueBytes });
  }
  return { entries, nextAt };
}

/** IFD0, IFD1 … following the next-IFD links, at most MAX_IFDS, no loops. */
function ifdChain(t: Tiff): number[] | undefined {
  const offsets: number[] = [];
  let offset = u32(t, 4);
  while (offset !== 0) {
    if (offsets.includes(offset) || offsets.length >= MAX_IFDS) return undefined;
    const ifd = readIfd(t, offset);
    if (!ifd) return undefined;
    offsets.push(offset);
    offset = u32(t, ifd.nextAt);
  }
  return offsets;
}

/** The EXIF orientation (1–8), or undefined. */
export function readOrientation(tiffData: Buffer): number | undefined {
  const t = openTiff(tiffData);
  const first = t && t.data.length >= 8 ? readIfd(t, u32(t, 4)) : undefined;
  const entry = first?.entries.find((e) => e.tag === ORIENTATION && e.type === 3);
  if (!t || !entry) return undefined;
  const value = u16(t, entry.valueAt);
  return value >= 1 && value <= 8 ? value : undefined;
}

/** Whether any IFD of the chain has a GPSInfo entry. */
export function hasGps(tiffData: Buffer): boolean {
  const t = openTiff(tiffData);
  const chain = t && ifdChain(t);
  return !!chain && chain.some((offset) => readIfd(t, offset)!.entries.some((e) => e.tag === GPS_INFO));
}

/** Removes the GPS IFD in place (see the opening comment); the length never changes. */
export function removeGpsInPlace(tiffData: Buffer): GpsRemoval {
  const t = openTiff(tiffData);
  const chain = t && ifdChain(t);
  if (!t || !chain) return 'unparseable';
  let removed = false;
  for (const offset of chain) {
    const ifd = readIfd(t, offset)!;
    const gps = ifd.entries.find((e) => e.tag === GPS_INFO);
    if (!gps) continue;
    if (gps.count !== 1 || (gps.type !== 4 && gps.type !== 13)) return 'unparseable';
    const gpsIfd = readIfd(t, u32(t, gps.at + 8));
    if (!gpsIfd) return 'unparseable';
    for (const entry of gpsIfd.entries) {
      if (entry.valueBytes > 4) {
        if (entry.valueAt + entry.valueBytes > t.data.length) return 'unparseable';
        t.data.fill(0, entry.valueAt, entry.valueAt + entry.valueBytes);
      }
    }
    t.data.fill(0, u32(t, gps.at + 8), gpsIfd.nextAt + 4);
    // Take the entry out: entries after it and the next-IFD link move up 12 bytes.
    const end = ifd.nextAt + 4;
    t.data.copy(t.data, gps.at, gps.at + 12, end);
    t.data.fill(0, end - 12, end);
    if (t.little) t.data.writeUInt16LE(ifd.entries.length - 1, offset);
    else t.data.writeUInt16BE(ifd.entries.length - 1, offset);
    removed = true;
  }
  return removed ? 'removed' : 'none';
}

/** Where the TIFF data starts in an EXIF block that may begin with "Exif\0\0" (JPEG APP1, often in PNG/WebP/HEIF). */
export function tiffStart(block: Buffer): number {
  return block.length >= 6 && block.toString('latin1', 0, 6) === 'Exif\0\0' ? 6 : 0;
}

/** removeGpsInPlace on an EXIF block; an unparseable block is zeroed entirely (fail closed). */
export function stripExifBlock(block: Buffer): GpsRemoval {
  const start = tiffStart(block);
  const result = removeGpsInPlace(block.subarray(start));
  if (result === 'unparseable') block.fill(0, start);
  return result;
}
