/**
 * The parts of a HEIF/AVIF file's `meta` box (ISO/IEC 23008-12 on ISO BMFF, 14496-12) that Haul
 * needs before any decoder runs: the items (iinf), where their data is (iloc), their properties
 * (ipco/ipma: `ispe` sizes, `irot`/`imir` transforms) and the primary item (pitm). Read from the
 * head of the file with bounds checks on every field; anything that does not add up is `invalid`.
 */

export interface HeifExtent {
  /** Absolute position in the file. */
  offset: number;
  length: number;
}

export interface HeifItem {
  id: number;
  type: string;
  /** For `mime` items, e.g. application/rdf+xml (XMP). */
  contentType: string | null;
  /** null: the data is not in this file at plain offsets (construction method 2, external data). */
  extents: HeifExtent[] | null;
  /** Its properties (ispe, irot, imir …), in association order. */
  properties: { type: string; data: Buffer }[];
}

export interface HeifMeta {
  primaryItemId: number | null;
  items: HeifItem[];
  /** Where the `meta` box ends in the file. */
  metaEnd: number;
}

export type HeifParse = { kind: 'meta'; meta: HeifMeta } | { kind: 'incomplete' } | { kind: 'invalid'; reason: string };

interface Box {
  type: string;
  /** Absolute offsets. */
  start: number;
  contentStart: number;
  end: number;
}

class Malformed extends Error {}

/** The boxes in data[from, to), `base` being data[0]'s position in the file. */
function childBoxes(data: Buffer, from: number, to: number, base = 0): Box[] {
  const boxes: Box[] = [];
  let at = from;
  while (at + 8 <= to) {
    let size = data.readUInt32BE(at);
    let header = 8;
    if (size === 1) {
      if (at + 16 > to) throw new Malformed('truncated box header');
      size = Number(data.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) size = to - at;
    if (size < header || at + size > to) throw new Malformed('box size out of bounds');
    boxes.push({ type: data.toString('latin1', at + 4, at + 8), start: base + at, contentStart: base + at + header, end: base + at + size });
    at += size;
  }
  return boxes;
}

class Reader {
  constructor(
    private readonly data: Buffer,
    public at: number,
    private readonly end: number,
  ) {}
  private need(n: number) {
    if (this.at + n > this.end) throw new Malformed('field out of bounds');
  }
  uint(bytes: number): number {
    this.need(bytes);
    let value: number;
    if (bytes === 0) value = 0;
    else if (bytes === 1) value = this.data.readUInt8(this.at);
    else if (bytes === 2) value = this.data.readUInt16BE(this.at);
    else if (bytes === 4) value = this.data.readUInt32BE(this.at);
    else if (bytes === 8) value = Number(this.data.readBigUInt64BE(this.at));
    else throw new Malformed(`unsupported field size ${bytes}`);
    this.at += bytes;
    return value;
  }
  fourcc(): string {
    this.need(4);
    this.at += 4;
    return this.data.toString('latin1', this.at - 4, this.at);
  }
  string(): string {
    const nul = this.data.indexOf(0, this.at);
    if (nul === -1 || nul >= this.end) throw new Malformed('unterminated string');
    const value = this.data.toString('utf8', this.at, nul);
    this.at = nul + 1;
    return value;
  }
  /** version (1 byte) and flags (3 bytes) of a FullBox. */
  versionAndFlags(): { version: number; flags: number } {
    const word = this.uint(4);
    return { version: word >>> 24, flags: word & 0xffffff };
  }
}

/** Parses the `meta` box from `head`, the first bytes of the file (from offset 0). */
export function parseHeifMeta(head: Buffer): HeifParse {
  try {
    let at = 0;
    while (at + 8 <= head.length) {
      const size32 = head.readUInt32BE(at);
      const type = head.toString('latin1', at + 4, at + 8);
      const size = size32 === 1 ? (at + 16 <= head.length ? Number(head.readBigUInt64BE(at + 8)) : NaN) : size32 === 0 ? Infinity : size32;
      if (Number.isNaN(size)) return { kind: 'incomplete' };
      if (size < 8) return { kind: 'invalid', reason: 'box size out of bounds' };
      if (type === 'meta') {
        if (at + size > head.length) return { kind: 'incomplete' };
        return { kind: 'meta', meta: readMeta(head, at, at + size) };
      }
      if (!Number.isFinite(size)) break;
      at += size;
    }
    return { kind: 'incomplete' };
  } catch (error) {
    if (error instanceof Malformed) return { kind: 'invalid', reason: `malformed HEIF: ${error.message}` };
    throw error;
  }
}

function readMeta(data: Buffer, start: number, end: number): HeifMeta {
  const children = childBoxes(data, start + 12, end); // meta is a FullBox: 4 bytes after the header
  const find = (type: string) => children.find((b) => b.type === type);
  const content = (box: Box) => new Reader(data, box.contentStart, box.end);

  let primaryItemId: number | null = null;
  const pitm = find('pitm');
  if (pitm) {
    const r = content(pitm);
    primaryItemId = r.uint(r.versionAndFlags().version === 0 ? 2 : 4);
  }

  const items = new Map<number, HeifItem>();
  const iinf = find('iinf');
  if (iinf) {
    const r = content(iinf);
    const count = r.uint(r.versionAndFlags().version === 0 ? 2 : 4);
    for (const infe of childBoxes(data, r.at, iinf.end).filter((b) => b.type === 'infe').slice(0, count)) {
      const e = content(infe);
      const { version } = e.versionAndFlags();
      if (version < 2) continue; // versions 0/1 carry no item type: not used by HEIF
      const id = e.uint(version === 2 ? 2 : 4);
      e.uint(2); // item_protection_index
      const type = e.fourcc();
      e.string(); // item_name
      const contentType = type === 'mime' ? e.string() : null;
      items.set(id, { id, type, contentType, extents: null, properties: [] });
    }
  }

  const idat = find('idat');
  const iloc = find('iloc');
  if (iloc) {
    const r = content(iloc);
    const { version } = r.versionAndFlags();
    const sizes = r.uint(2);
    const [offsetSize, lengthSize, baseOffsetSize, indexSize] = [sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15, version > 0 ? sizes & 15 : 0];
    const count = r.uint(version < 2 ? 2 : 4);
    for (let i = 0; i < count; i++) {
      const id = r.uint(version < 2 ? 2 : 4);
      const method = version > 0 ? r.uint(2) & 15 : 0;
      const dataReference = r.uint(2);
      const baseOffset = r.uint(baseOffsetSize);
      const extentCount = r.uint(2);
      const extents: HeifExtent[] = [];
      for (let k = 0; k < extentCount; k++) {
        r.uint(indexSize);
        extents.push({ offset: baseOffset + r.uint(offsetSize), length: r.uint(lengthSize) });
      }
      const item = items.get(id);
      if (!item || dataReference !== 0) continue;
      if (method === 0) item.extents = extents;
      else if (method === 1 && idat) item.extents = extents.map((x) => ({ offset: idat.contentStart + x.offset, length: x.length }));
    }
  }

  const iprp = find('iprp');
  if (iprp) {
    const parts = childBoxes(data, iprp.contentStart, iprp.end);
    const ipco = parts.find((b) => b.type === 'ipco');
    const properties = ipco ? childBoxes(data, ipco.contentStart, ipco.end) : [];
    for (const ipma of parts.filter((b) => b.type === 'ipma')) {
      const r = content(ipma);
      const { version, flags } = r.versionAndFlags();
      const count = r.uint(4);
      for (let i = 0; i < count; i++) {
        const item = items.get(r.uint(version < 1 ? 2 : 4));
        const associations = r.uint(1);
        for (let k = 0; k < associations; k++) {
          const index = flags & 1 ? r.uint(2) & 0x7fff : r.uint(1) & 0x7f;
          const property = properties[index - 1];
          if (item && property) item.properties.push({ type: property.type, data: data.subarray(property.contentStart, property.end) });
        }
      }
    }
  }
  return { primaryItemId, items: [...items.values()], metaEnd: end };
}

/** ispe (a FullBox): image width and height. */
export function readIspe(data: Buffer): { width: number; height: number } | undefined {
  return data.length >= 12 ? { width: data.readUInt32BE(4), height: data.readUInt32BE(8) } : undefined;
}

/** Whether an item's display is transformed by the container (rotation or mirror). */
export function hasTransform(item: HeifItem): boolean {
  return item.properties.some((p) => p.type === 'irot' || p.type === 'imir');
}
