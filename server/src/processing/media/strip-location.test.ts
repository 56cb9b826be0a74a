import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { hasGps, readOrientation, tiffStart } from './exif.js';
import { createLocationStripper, type StripReport } from './strip-location.js';

const XMP = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.493N" exif:GPSLongitude="2,17.667E"/>
</rdf:RDF></x:xmpmeta>`;

/** A photo as a phone writes it: EXIF orientation 6, camera make, GPS in EXIF and in XMP. */
async function photo(format: 'jpeg' | 'png' | 'webp', width = 320, height = 200): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7 + (i % width) * 3) & 255;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    [format]()
    .withMetadata({ orientation: 6 })
    .withExif({ IFD0: { Make: 'Apple', Model: 'iPhone 15' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2958/100', GPSLongitudeRef: 'E', GPSLongitude: '2/1 17/1 4000/100' } })
    .withXmp(XMP)
    .toBuffer();
}

/** Streams `input` through the stripper in chunks of irregular sizes (1 byte to 4 KiB). */
async function strip(mime: string, input: Buffer): Promise<{ output: Buffer; report: StripReport }> {
  const chunks: Buffer[] = [];
  for (let at = 0, n = 1; at < input.length; at += n, n = (n * 7 + 3) % 4096 || 1) chunks.push(input.subarray(at, at + n));
  const stripper = createLocationStripper(mime);
  const [output] = await Promise.all([buffer(stripper.stream), pipeline(Readable.from(chunks), stripper.stream)]);
  return { output, report: await stripper.report };
}

async function exifOf(image: Buffer): Promise<Buffer | undefined> {
  const exif = (await sharp(image).metadata()).exif;
  return exif && exif.subarray(tiffStart(exif));
}

const pixels = async (image: Buffer) => (await sharp(image).raw().toBuffer()).toString('base64');

/** The entropy-coded data of a baseline JPEG: after the SOS header, up to EOI. */
function scanData(jpeg: Buffer): Buffer {
  let at = 2;
  while (jpeg[at + 1] !== 0xda) at += 2 + jpeg.readUInt16BE(at + 2);
  return jpeg.subarray(at + 2 + jpeg.readUInt16BE(at + 2), jpeg.lastIndexOf(Buffer.from([0xff, 0xd9])));
}

describe('createLocationStripper', () => {
  it('JPEG: GPS out of EXIF and XMP, same length, scan data and pixels byte-identical, orientation kept', async () => {
    const input = await photo('jpeg');
    expect(hasGps((await exifOf(input))!)).toBe(true);
    const { output, report } = await strip('image/jpeg', input);
    expect(report).toEqual({ locationFound: true, notes: [] });
    expect(output.length).toBe(input.length);
    expect(scanData(output).equals(scanData(input))).toBe(true);
    expect(await pixels(output)).toBe(await pixels(input));
    const exif = (await exifOf(output))!;
    expect(hasGps(exif)).toBe(false);
    expect(readOrientation(exif)).toBe(6);
    expect((await sharp(output).metadata()).orientation).toBe(6);
    expect(output.includes('GPSLatitude')).toBe(false);
    expect(output.includes('48,51.493N')).toBe(false);
    // Only the metadata bytes differ.
    const changed = [...input].flatMap((b, i) => (b !== output[i] ? [i] : []));
    expect(changed.at(-1)!).toBeLessThan(input.length - scanData(input).length - 2);
  });

  it('JPEG: a secondary image after the first EOI (MPF gain/depth map) is stripped too', async () => {
    const [first, second] = [await photo('jpeg', 64, 48), await photo('jpeg', 32, 24)];
    const { output } = await strip('image/jpeg', Buffer.concat([first, second]));
    expect(output.length).toBe(first.length + second.length);
    expect(hasGps((await exifOf(output.subarray(first.length)))!)).toBe(false);
    expect(output.includes('48,51.493N')).toBe(false);
  });

  it('JPEG without location passes through unchanged; a broken one fails the stream', async () => {
    const plain = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#345' } }).jpeg().toBuffer();
    const { output, report } = await strip('image/jpeg', plain);
    expect(output.equals(plain)).toBe(true);
    expect(report.locationFound).toBe(false);
    await expect(strip('image/jpeg', Buffer.from('not a jpeg'))).rejects.toThrow('not a JPEG');
    // Cut inside the EXIF segment: those bytes cannot be checked, so they are not served.
    await expect(strip('image/jpeg', (await photo('jpeg')).subarray(0, 100))).rejects.toThrow(/ends inside its header/);
  });

  it('PNG: eXIf edited with a valid CRC, XMP/EXIF text profiles dropped, other text kept', async () => {
    const input = insertTextChunk(await photo('png'), 'Comment', 'taken on holiday');
    const { output, report } = await strip('image/png', input);
    expect(report.locationFound).toBe(true);
    const exif = (await exifOf(output))!;
    expect(hasGps(exif)).toBe(false);
    expect(readOrientation(exif)).toBe(6);
    expect((await sharp(output).metadata()).xmp).toBeUndefined();
    expect(output.includes('taken on holiday')).toBe(true);
    expect(await pixels(output)).toBe(await pixels(input));
    for (const chunk of pngChunks(output)) expect(chunk.crcOk).toBe(true);
  });

  it('WebP: EXIF and XMP chunks edited in place, same length, pixels identical', async () => {
    const input = await photo('webp');
    const { output, report } = await strip('image/webp', input);
    expect(report.locationFound).toBe(true);
    expect(output.length).toBe(input.length);
    expect(hasGps((await exifOf(output))!)).toBe(false);
    expect(readOrientation((await exifOf(output))!)).toBe(6);
    expect(output.includes('48,51.493N')).toBe(false);
    expect(await pixels(output)).toBe(await pixels(input));
  });
});

function insertTextChunk(png: Buffer, keyword: string, text: string): Buffer {
  const data = Buffer.from(`${keyword}\0${text}`, 'latin1');
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write('tEXt', 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return Buffer.concat([png.subarray(0, 33), chunk, png.subarray(33)]); // after IHDR
}

function pngChunks(png: Buffer): { type: string; crcOk: boolean }[] {
  const chunks = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const crc = png.readUInt32BE(at + 8 + length);
    chunks.push({ type: png.toString('latin1', at + 4, at + 8), crcOk: crc32(png.subarray(at + 4, at + 8 + length)) === crc });
    at += 12 + length;
  }
  return chunks;
}
