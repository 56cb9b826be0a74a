import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { hasGps, readOrientation } from './exif.js';
import { hasTransform, parseHeifMeta } from './heif-boxes.js';
import { readImageHeader } from './image-header.js';
import { createLocationStripper } from './strip-location.js';

// A HEIF file built box by box (ISO BMFF), so the parser and the editor are tested without
// libheif; tests/media-decoders.test.ts does the same with files from heif-enc.

const box = (type: string, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
};
const full = (type: string, version: number, ...parts: Buffer[]) => box(type, Buffer.from([version, 0, 0, 0]), ...parts);
const u16 = (v: number) => Buffer.from([v >> 8, v & 255]);
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
};
const cstr = (s: string) => Buffer.from(`${s}\0`, 'latin1');

interface Item {
  id: number;
  type: string;
  contentType?: string;
  /** The item's bytes, stored in mdat as one extent each (or split in two). */
  data: Buffer;
  split?: boolean;
}

/** ftyp, meta (pitm, iinf, iloc v1, iprp with ispe/irot), then mdat holding every item's data. */
function heif({ items, width, height, irot = false, metaLast = false }: { items: Item[]; width: number; height: number; irot?: boolean; metaLast?: boolean }): Buffer {
  const ftyp = box('ftyp', Buffer.from('heic'), u32(0), Buffer.from('mif1heic'));
  const build = (mdatDataStart: number) => {
    let offset = mdatDataStart;
    const locations = items.map((item) => {
      const halves = item.split ? [item.data.subarray(0, 10), item.data.subarray(10)] : [item.data];
      const extents = halves.map((h) => {
        const extent = Buffer.concat([u32(offset), u32(h.length)]);
        offset += h.length;
        return extent;
      });
      // item_ID, construction_method 0, data_reference_index 0, (base_offset size 0), extent_count
      return Buffer.concat([u16(item.id), u16(0), u16(0), u16(extents.length), ...extents]);
    });
    const infe = items.map((item) => full('infe', 2, u16(item.id), u16(0), Buffer.from(item.type, 'latin1'), cstr(''), item.contentType ? cstr(item.contentType) : Buffer.alloc(0)));
    const properties = [full('ispe', 0, u32(width), u32(height)), ...(irot ? [box('irot', Buffer.from([3]))] : [])];
    const associations = Buffer.concat([u32(1), u16(1), Buffer.from([properties.length]), ...properties.map((_, i) => Buffer.from([0x80 | (i + 1)]))]);
    return full(
      'meta', 0,
      full('hdlr', 0, u32(0), Buffer.from('pict'), Buffer.alloc(12), cstr('')),
      full('pitm', 0, u16(1)),
      full('iinf', 0, u16(items.length), ...infe),
      full('iloc', 1, Buffer.from([0x44, 0x00]), u16(items.length), ...locations),
      box('iprp', box('ipco', ...properties), full('ipma', 0, associations)),
    );
  };
  const mdat = box('mdat', ...items.map((i) => i.data));
  if (metaLast) return Buffer.concat([ftyp, mdat, build(ftyp.length + 8)]);
  const metaLength = build(0).length;
  return Buffer.concat([ftyp, build(ftyp.length + metaLength + 8), mdat]);
}

async function exifItem(): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .withExif({ IFD0: { Make: 'Apple' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2958/100' } })
    .toBuffer();
  const exif = (await sharp(jpeg).metadata()).exif!; // "Exif\0\0" + TIFF
  return Buffer.concat([u32(6), exif]); // exif_tiff_header_offset: the TIFF header is 6 bytes in
}

const XMP = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description exif:GPSLatitude="48,51.493N" exif:GPSLongitude="2,17.667E"/></rdf:RDF></x:xmpmeta>';
const image = { id: 1, type: 'hvc1', data: Buffer.alloc(300, 7) };

async function strip(input: Buffer) {
  const stripper = createLocationStripper('image/heic');
  const chunks = [];
  for (let at = 0; at < input.length; at += 97) chunks.push(input.subarray(at, at + 97));
  const [output] = await Promise.all([buffer(stripper.stream), pipeline(Readable.from(chunks), stripper.stream)]);
  return { output, report: await stripper.report };
}

describe('HEIF boxes', () => {
  it('reads items, their extents and properties', async () => {
    const file = heif({ items: [image, { id: 2, type: 'Exif', data: await exifItem() }], width: 4032, height: 3024, irot: true });
    const parsed = parseHeifMeta(file);
    if (parsed.kind !== 'meta') throw new Error(parsed.kind);
    const [primary, exif] = parsed.meta.items;
    expect(parsed.meta.primaryItemId).toBe(1);
    expect(primary).toMatchObject({ type: 'hvc1', extents: [{ length: 300 }] });
    expect(hasTransform(primary!)).toBe(true);
    expect(file.subarray(exif!.extents![0]!.offset, exif!.extents![0]!.offset + 10).toString('latin1', 4)).toBe('Exif\0\0');
    expect(readImageHeader(file)).toEqual({ kind: 'header', header: { format: 'heif', width: 4032, height: 3024, maxPixels: 4032 * 3024 } });
    expect(parseHeifMeta(file.subarray(0, 60)).kind).toBe('incomplete');
    const broken = Buffer.from(file);
    broken.writeUInt32BE(0xffff, file.indexOf('hdlr') - 4); // the meta box's first child claims to be huge
    expect(parseHeifMeta(broken).kind).toBe('invalid');
  });

  it('sees a decompression bomb in the declared size', () => {
    const bomb = readImageHeader(heif({ items: [image], width: 50000, height: 50000 }));
    expect(bomb.kind === 'header' && bomb.header.maxPixels).toBe(2.5e9);
  });

  it('strips GPS from the Exif item and blanks XMP location in place, nothing else changes', async () => {
    const input = heif({ items: [image, { id: 2, type: 'Exif', data: await exifItem() }, { id: 3, type: 'mime', contentType: 'application/rdf+xml', data: Buffer.from(XMP) }], width: 8, height: 8 });
    const { output, report } = await strip(input);
    expect(report).toEqual({ locationFound: true, notes: [] });
    expect(output.length).toBe(input.length);
    const meta = parseHeifMeta(output);
    if (meta.kind !== 'meta') throw new Error(meta.kind);
    const bytesOf = (id: number) => {
      const extent = meta.meta.items.find((i) => i.id === id)!.extents![0]!;
      return output.subarray(extent.offset, extent.offset + extent.length);
    };
    const tiff = bytesOf(2).subarray(10);
    expect(hasGps(tiff)).toBe(false);
    expect(readOrientation(tiff)).toBe(6);
    expect(bytesOf(3).toString()).not.toMatch(/gps|48,51/i);
    expect(bytesOf(1).equals(image.data)).toBe(true);
    const changed = [...input].flatMap((b, i) => (b !== output[i] ? [i] : []));
    const exifStart = meta.meta.items[1]!.extents![0]!.offset;
    expect(changed[0]!).toBeGreaterThanOrEqual(exifStart);
  });

  it('overwrites an Exif item split over two extents; meta after the data only within 16 MiB', async () => {
    const split = heif({ items: [image, { id: 2, type: 'Exif', data: await exifItem(), split: true }], width: 8, height: 8 });
    const { output, report } = await strip(split);
    expect(report.notes).toEqual(['an EXIF item that cannot be edited in place was overwritten']);
    expect(output.includes(Buffer.from('Apple'))).toBe(false);
    const late = heif({ items: [image, { id: 2, type: 'Exif', data: await exifItem() }], width: 8, height: 8, metaLast: true });
    expect((await strip(late)).report.locationFound).toBe(true);
    const big = { ...image, data: Buffer.alloc(17 * 1024 * 1024) };
    const tooLate = heif({ items: [big, { id: 2, type: 'Exif', data: await exifItem() }], width: 8, height: 8, metaLast: true });
    await expect(strip(tooLate)).rejects.toThrow('HEIF meta box not found in the first 16 MiB');
  });
});
