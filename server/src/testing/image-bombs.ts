import { crc32 } from 'node:zlib';

/**
 * Decompression bombs by hand (issue 13): tiny files whose headers declare images far over
 * MAX_IMAGE_PIXELS. Only the headers are real; nothing after them decodes. For the unit tests
 * beside the code and tests/helpers/fixtures.ts; not built (tsconfig.json excludes src/testing).
 */

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG chunk: length, type, data, and the CRC over type and data. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** The data of an IHDR chunk declaring `width`×`height` 8-bit RGB pixels (no interlace). */
export function pngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return ihdr; // compression, filter, interlace: 0
}

/** A 1×1 GIF screen whose only frame is 30000×30000, at (`left`, `top`). */
export function gifBomb({ left = 0, top = 0 } = {}): Buffer {
  const screen = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00', 'latin1');
  const frame = Buffer.alloc(10);
  frame[0] = 0x2c; // image descriptor
  frame.writeUInt16LE(left, 1);
  frame.writeUInt16LE(top, 3);
  frame.writeUInt16LE(30000, 5);
  frame.writeUInt16LE(30000, 7);
  return Buffer.concat([screen, frame, Buffer.from([2, 2, 0x4c, 0x01, 0, 0x3b])]);
}

/**
 * A little-endian TIFF: a 16×16 first page whose directory is at `firstPageAt`, then a
 * 100000×100000 page whose directory is at `bombAt` (beyond the first 64 KiB: a reader must ask
 * for those bytes by range).
 */
export function tiffBomb({ firstPageAt, bombAt }: { firstPageAt: number; bombAt: number }): Buffer {
  const file = Buffer.alloc(Math.max(firstPageAt, bombAt) + 30);
  file.write('II*\0', 0, 'latin1');
  file.writeUInt32LE(firstPageAt, 4);
  const ifd = (at: number, width: number, height: number, next: number) => {
    file.writeUInt16LE(2, at);
    [[256, width], [257, height]].forEach(([tag, value], i) => {
      const entry = at + 2 + 12 * i;
      file.writeUInt16LE(tag!, entry);
      file.writeUInt16LE(4, entry + 2); // LONG
      file.writeUInt32LE(1, entry + 4);
      file.writeUInt32LE(value!, entry + 8);
    });
    file.writeUInt32LE(next, at + 26);
  };
  ifd(firstPageAt, 16, 16, bombAt);
  ifd(bombAt, 100_000, 100_000, 0);
  return file;
}

/** A WebP (VP8X) declaring a 16777216×16777216 canvas. */
export function webpBomb(): Buffer {
  const file = Buffer.alloc(30);
  file.write('RIFF', 0, 'latin1');
  file.writeUInt32LE(22, 4);
  file.write('WEBPVP8X', 8, 'latin1');
  file.writeUInt32LE(10, 16);
  file.writeUIntLE(0xffffff, 24, 3);
  file.writeUIntLE(0xffffff, 27, 3);
  return file;
}
