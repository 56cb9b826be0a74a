import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { pdfFile } from '../../bench/lib/pdf-file.js';
import { gifBomb, PNG_SIGNATURE, pngChunk, pngHeader, tiffBomb, webpBomb } from '../../server/src/testing/image-bombs.js';

export { pngChunk };

/**
 * Files for the processing tests, generated in code (no binary fixtures in the repository).
 * Each is small except where a test needs size; all are deterministic in shape, random in content.
 */

/** The EICAR anti-virus test string: every scanner reports it (ours: Eicar-Test-Signature.UNOFFICIAL). */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

export const eicarFile = () => Buffer.from(EICAR, 'ascii');

/**
 * A ZIP archive with every entry *stored* (method 0, no compression): local headers, data,
 * central directory, end record. Enough for file-type (application/zip) and clamd's unpacker.
 */
export function storedZip(entries: ReadonlyArray<{ name: string; data: Buffer }>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  // 1980-01-01 00:00 in DOS format.
  const dosTime = 0;
  const dosDate = (0 << 9) | (1 << 5) | 1;
  for (const { name, data } of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); // local file header signature
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // flags: UTF-8 names
    local.writeUInt16LE(0, 8); // method: stored
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18); // compressed size
    local.writeUInt32LE(data.length, 22); // uncompressed size
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28); // extra length
    locals.push(local, nameBytes, data);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); // central directory header signature
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6); // version needed
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    // extra, comment, disk number, internal attributes, external attributes: 0
    central.writeUInt32LE(offset, 42); // offset of the local header
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); // end of central directory signature
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** A 64-bit little-endian x86-64 ELF executable header, padded with random bytes. */
export function elfBinary(size = 4096): Buffer {
  const file = Buffer.concat([Buffer.alloc(64), randomBytes(Math.max(0, size - 64))]);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(file, 0); // \x7fELF, 64-bit, LE, version 1, SysV
  file.fill(0, 8, 16);
  file.writeUInt16LE(2, 16); // e_type: EXEC
  file.writeUInt16LE(0x3e, 18); // e_machine: x86-64
  file.writeUInt32LE(1, 20); // e_version
  file.writeBigUInt64LE(0x401000n, 24); // e_entry
  file.writeBigUInt64LE(64n, 32); // e_phoff
  file.writeUInt16LE(64, 52); // e_ehsize
  file.writeUInt16LE(56, 54); // e_phentsize
  return file;
}

/**
 * A decompression bomb, by hand: a valid PNG signature and IHDR (with correct CRC) declaring
 * `width`×`height` RGB pixels — 40 gigapixels by default — a tiny IDAT and IEND. A few hundred
 * bytes that would need ~120 GB decoded.
 */
export function decompressionBombPng(width = 200_000, height = 200_000): Buffer {
  // The start of the first rows, all zero: deflate makes this a few bytes.
  const idat = zlib.deflateSync(Buffer.alloc(64 * 1024));
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', pngHeader(width, height)), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

/** Random RGB noise (incompressible, so encoded files have a predictable, large-ish size). */
const noise = (width: number, height: number) =>
  sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } });

/** A real PNG of noise: ~3 bytes per pixel. */
export function noisePng(width: number, height: number): Promise<Buffer> {
  return noise(width, height).png({ compressionLevel: 1 }).toBuffer();
}

/**
 * A JPEG stored as `width`×`height` pixels (landscape) with EXIF Orientation 6 ("rotate 90° CW
 * to display") and GPS coordinates — what a phone held upright writes.
 */
export async function orientedJpegWithGps(width = 640, height = 480): Promise<Buffer> {
  // A gradient (left dark, right bright) plus a little noise: the orientation is visible in the data.
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      raw[i] = Math.floor((x / width) * 255);
      raw[i + 1] = Math.floor((y / height) * 255);
      raw[i + 2] = (x * 7 + y * 13) & 0xff;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .withExif({
      IFD0: { Make: 'HaulTestCam', Model: 'Fixture 1', Copyright: 'haul tests' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '48/1 51/1 2948/100',
        GPSLongitudeRef: 'E',
        GPSLongitude: '2/1 17/1 4019/100',
      },
    })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

/** The first half of a real JPEG (noise, so the entropy-coded data is long): truncated mid-scan. */
export async function truncatedJpeg(): Promise<Buffer> {
  const full = await noise(400, 300).jpeg({ quality: 90 }).toBuffer();
  return full.subarray(0, Math.floor(full.length / 2));
}

/** A minimal HEIC-like file: an ISO-BMFF `ftyp` box with major brand `heic` and nothing to decode. */
export function heicLike(): Buffer {
  const brands = ['heic', 'mif1', 'heic'];
  const ftyp = Buffer.alloc(16 + 4 * (brands.length - 1));
  ftyp.writeUInt32BE(ftyp.length, 0);
  ftyp.write('ftyp', 4, 'ascii');
  ftyp.write(brands[0]!, 8, 'ascii'); // major brand
  ftyp.writeUInt32BE(0, 12); // minor version
  brands.slice(1).forEach((brand, i) => ftyp.write(brand, 16 + 4 * i, 'ascii')); // compatible brands
  // An empty `meta` box after it, as a real file would start; no image items.
  const meta = Buffer.alloc(12);
  meta.writeUInt32BE(12, 0);
  meta.write('meta', 4, 'ascii');
  return Buffer.concat([ftyp, meta, randomBytes(512)]);
}

/** `size` bytes of printable ASCII text (detected as text/plain), different on every call. */
export function asciiText(size: number): Buffer {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.;:-\n';
  return Buffer.from(Array.from(randomBytes(size), (b) => alphabet.charCodeAt(b % alphabet.length)));
}

export const csvFile = () =>
  Buffer.from('id,name,amount\n1,Alice,12.50\n2,Bob,7.25\n3,"Carol, Jr.",100\n', 'utf8');

export const htmlFile = () =>
  Buffer.from('<!DOCTYPE html>\n<html><head><title>hi</title></head><body><script>alert(1)</script></body></html>\n', 'utf8');

/** A one-page PDF showing `text`, with a correct cross-reference table (viewers render it). */
export function simplePdf(text: string, { javascript }: { javascript?: string } = {}): Buffer {
  const escaped = text.replace(/[\\()]/g, (ch) => `\\${ch}`);
  const stream = `BT /F1 28 Tf 72 720 Td (${escaped}) Tj ET`;
  // An active PDF: JavaScript run when the document opens (issue 13: served only as an attachment).
  const openAction = javascript === undefined ? '' : ` /OpenAction << /S /JavaScript /JS (${javascript.replace(/[\\()]/g, (ch) => `\\${ch}`)}) >>`;
  const objects = [
    `<< /Type /Catalog /Pages 2 0 R${openAction} >>`,
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  return Buffer.from(pdfFile('%PDF-1.4\n', objects, 1), 'latin1');
}

/** A PNG that looks like a photo (sky, sun, hills), drawn from SVG by sharp: previews worth a look. */
export function scenePng(width = 960, height = 640): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 960 640">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#1e3a8a"/><stop offset="0.55" stop-color="#f97316"/><stop offset="1" stop-color="#fde68a"/>
    </linearGradient></defs>
    <rect width="960" height="640" fill="url(#sky)"/>
    <circle cx="640" cy="380" r="70" fill="#fff7ed"/>
    <path d="M0 460 L180 300 L330 420 L520 250 L720 440 L860 340 L960 400 L960 640 L0 640 Z" fill="#312e81"/>
    <path d="M0 540 L240 420 L460 520 L700 430 L960 520 L960 640 L0 640 Z" fill="#1e1b4b"/>
  </svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/**
 * Decompression bombs in the other raster formats (issue 13): tiny files whose headers declare
 * images far over MAX_IMAGE_PIXELS. Only the headers are real; nothing after them decodes.
 */
export const imageBombs = {
  /** A 1×1 screen whose only frame is 30000×30000. */
  gif: () => gifBomb(),
  /** A 16×16 first page, then a 100000×100000 one whose directory is beyond the first 64 KiB (read by range). */
  tiff: () => tiffBomb({ firstPageAt: 8, bombAt: 70_000 }),
  /** VP8X declaring a 16777216×16777216 canvas. */
  webp: webpBomb,
  /** A 20000×20000 RGB PNG with all its (zero) rows: ~1.1 MB that inflates to 1.2 GB. */
  async fullPng(): Promise<Buffer> {
    const width = 20_000;
    const rows = Buffer.alloc((width * 3 + 1) * 100);
    const deflate = zlib.createDeflate({ level: 9 });
    const parts: Buffer[] = [];
    deflate.on('data', (part: Buffer) => parts.push(part));
    const ended = new Promise((resolve) => deflate.on('end', resolve));
    for (let row = 0; row < 20_000; row += 100) deflate.write(rows);
    deflate.end();
    await ended;
    return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', pngHeader(width, 20_000)), pngChunk('IDAT', Buffer.concat(parts)), pngChunk('IEND', Buffer.alloc(0))]);
  },
};
