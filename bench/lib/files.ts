import { createHash, randomFillSync } from 'node:crypto';
import fs from 'node:fs';

/** Test files for benchmarks: random bytes, camera-like JPEGs, and ways to make them new to any cache. */

/** Writes `bytes` of fresh random data (incompressible, unique: no dedup or scan cache can help) to `file`. */
export async function writeRandomFile(file: string, bytes: number): Promise<string> {
  const block = Buffer.allocUnsafe(8 * 1024 * 1024);
  const handle = await fs.promises.open(file, 'w');
  try {
    for (let written = 0; written < bytes; ) {
      const n = Math.min(block.length, bytes - written);
      randomFillSync(block, 0, n);
      await handle.write(block, 0, n);
      written += n;
    }
  } finally {
    await handle.close();
  }
  return file;
}

/** Overwrites the first `bytes` of `file` with fresh random data: a new file as far as any hash-keyed cache goes. */
export function freshenHead(file: string, bytes = 64 * 1024): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, randomFillSync(Buffer.allocUnsafe(bytes)), 0, bytes, 0);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A camera-like JPEG: smooth structure (coarse Gaussian noise, upscaled) plus fine grain, so it
 * compresses about like a photo (6000×4000 at quality 90: ~8 MiB) rather than like pure noise.
 */
export async function writeNoiseJpeg(file: string, { width = 6000, height = 4000, quality = 90, grain = 6 } = {}): Promise<string> {
  const { default: sharp } = await import('sharp');
  const noise = (w: number, h: number, sigma: number) => ({
    create: { width: w, height: h, channels: 3 as const, background: { r: 128, g: 128, b: 128 }, noise: { type: 'gaussian' as const, mean: 128, sigma } },
  });
  const pixels = await sharp(noise(Math.ceil(width / 8), Math.ceil(height / 8), 60)).resize(width, height, { kernel: 'cubic' }).raw().toBuffer();
  const fine = await sharp(noise(width, height, grain)).raw().toBuffer();
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.max(0, Math.min(255, pixels[i]! + fine[i]! - 128));
  await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality }).toFile(file);
  return file;
}

/**
 * `base` (a JPEG) with an APP15 segment of random bytes right after SOI, written to `file`: the
 * same picture, but bytes no hash-keyed cache (clamd's) has seen.
 */
export function writeJpegVariant(base: string, file: string, payloadBytes = 4096): string {
  const jpeg = fs.readFileSync(base);
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error(`${base} is not a JPEG`);
  const segment = Buffer.alloc(4 + payloadBytes);
  segment.writeUInt16BE(0xffef, 0); // APP15
  segment.writeUInt16BE(2 + payloadBytes, 2); // length includes itself
  randomFillSync(segment, 4);
  fs.writeFileSync(file, Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]));
  return file;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
