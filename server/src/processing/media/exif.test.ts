import { describe, expect, it } from 'vitest';
import { hasGps, readOrientation, removeGpsInPlace, stripExifBlock } from './exif.js';
import { blankXmpLocation } from './xmp-location.js';

type Entry = [tag: number, type: number, count: number, value: number | Buffer];

/** A TIFF block: IFD0 (with a GPSInfo pointer) and a GPS IFD, values beyond 4 bytes after each IFD. */
function tiff(little: boolean, ifd0: Entry[], gps: Entry[] | null, { gpsFirst = false } = {}): Buffer {
  const out = Buffer.alloc(1024);
  const u16 = (v: number, at: number) => (little ? out.writeUInt16LE(v, at) : out.writeUInt16BE(v, at));
  const u32 = (v: number, at: number) => (little ? out.writeUInt32LE(v, at) : out.writeUInt32BE(v, at));
  out.write(little ? 'II' : 'MM', 0, 'latin1');
  u16(42, 2);
  u32(8, 4);
  let free = 600;
  const writeIfd = (at: number, entries: Entry[]) => {
    u16(entries.length, at);
    entries.forEach(([tag, type, count, value], i) => {
      const e = at + 2 + 12 * i;
      u16(tag, e);
      u16(type, e + 2);
      u32(count, e + 4);
      if (Buffer.isBuffer(value)) {
        value.copy(out, free);
        u32(free, e + 8);
        free += value.length;
      } else if (type === 3) u16(value, e + 8);
      else u32(value, e + 8);
    });
    u32(0, at + 2 + 12 * entries.length);
  };
  const gpsAt = 300;
  const pointer: Entry = [0x8825, 4, 1, gpsAt];
  writeIfd(8, gps ? (gpsFirst ? [pointer, ...ifd0] : [...ifd0, pointer]) : ifd0);
  if (gps) writeIfd(gpsAt, gps);
  return out.subarray(0, free);
}

const rational = (...parts: number[]) => {
  const b = Buffer.alloc(parts.length * 4);
  parts.forEach((p, i) => b.writeUInt32BE(p, i * 4));
  return b;
};
const latitude = rational(48, 1, 51, 1, 2958, 100); // 48°51'29.58"
const gpsEntries: Entry[] = [
  [0x0001, 2, 2, 0x4e000000], // GPSLatitudeRef "N"
  [0x0002, 5, 3, latitude],
  [0x0004, 5, 3, rational(2, 1, 17, 1, 4000, 100)],
];

describe('removeGpsInPlace', () => {
  for (const little of [true, false]) {
    it(`removes the GPS IFD and keeps orientation (${little ? 'little' : 'big'}-endian)`, () => {
      const block = tiff(little, [[0x010f, 2, 6, Buffer.from('Apple\0')], [0x0112, 3, 1, 6]], gpsEntries);
      const before = block.length;
      expect(hasGps(block)).toBe(true);
      expect(block.includes(latitude)).toBe(true);
      expect(removeGpsInPlace(block)).toBe('removed');
      expect(block.length).toBe(before);
      expect(hasGps(block)).toBe(false);
      expect(block.includes(latitude)).toBe(false);
      expect(readOrientation(block)).toBe(6);
      expect(block.includes(Buffer.from('Apple\0'))).toBe(true);
      expect(removeGpsInPlace(block)).toBe('none');
    });
  }

  it('moves the entries after the GPS pointer up, so they stay readable', () => {
    const block = tiff(true, [[0x0112, 3, 1, 3], [0x0131, 2, 4, Buffer.from('app\0')]], gpsEntries, { gpsFirst: true });
    expect(removeGpsInPlace(block)).toBe('removed');
    expect(hasGps(block)).toBe(false);
    expect(readOrientation(block)).toBe(3);
    expect(block.readUInt16LE(8)).toBe(2); // IFD0 now counts two entries
  });

  it('reports what it cannot follow, and the block caller zeroes it', () => {
    const loop = tiff(true, [[0x0112, 3, 1, 6]], null);
    loop.writeUInt32LE(8, 8 + 2 + 12); // IFD0's next-IFD link points to itself
    expect(removeGpsInPlace(loop)).toBe('unparseable');
    const outside = tiff(true, [[0x0112, 3, 1, 6]], gpsEntries);
    outside.writeUInt32LE(0xffff, 8 + 2 + 12 + 8); // GPS IFD pointer beyond the block
    const block = Buffer.concat([Buffer.from('Exif\0\0'), outside]);
    expect(stripExifBlock(block)).toBe('unparseable');
    expect(block.subarray(6).every((b) => b === 0)).toBe(true);
    expect(block.subarray(0, 6).toString('latin1')).toBe('Exif\0\0');
    expect(removeGpsInPlace(Buffer.from('not a tiff at all'))).toBe('unparseable');
  });
});

describe('blankXmpLocation', () => {
  const packet = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
 exif:GPSLatitude="48,51.493N" exif:GPSLongitude='2,17.667E' photoshop:City="Paris" tiff:Orientation="6">
<exif:GPSAltitude>35/1</exif:GPSAltitude><exif:GPSVersionID><rdf:Seq><rdf:li>2</rdf:li></rdf:Seq></exif:GPSVersionID>
<drone-dji:GpsLatitude>48.85</drone-dji:GpsLatitude><exif:GPSTimeStamp/>
</rdf:Description></rdf:RDF></x:xmpmeta>`;

  it('blanks attributes and elements, keeps everything else, length unchanged', () => {
    const data = Buffer.from(packet);
    expect(blankXmpLocation([data])).toBe(true);
    const text = data.toString();
    expect(text.length).toBe(packet.length);
    expect(text).not.toMatch(/gps/i);
    expect(text).not.toContain('48,51');
    expect(text).not.toContain('35/1');
    expect(text).toContain('photoshop:City="Paris"');
    expect(text).toContain('tiff:Orientation="6"');
    expect(text.replace(/\s+/g, ' ')).toContain('<rdf:Description rdf:about="" xmlns:exif=');
    expect(blankXmpLocation([data])).toBe(false);
  });

  it('blanks a property cut between two parts (extended XMP segments)', () => {
    const cut = packet.indexOf('GPSLongitude') + 4;
    const parts = [Buffer.from(packet.slice(0, cut)), Buffer.from(packet.slice(cut))];
    expect(blankXmpLocation(parts)).toBe(true);
    expect(Buffer.concat(parts).toString()).not.toMatch(/gps|17\.667/i);
  });
});
