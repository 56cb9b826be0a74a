import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';

/**
 * Media files made in the tests with the Debian tools (ffmpeg, heif-enc, qpdf) and sharp, never
 * checked in. Callers pass a temporary directory; each function returns the file's path.
 */

const run = promisify(execFile);

export async function tool(command: string, args: string[]): Promise<void> {
  await run(command, args, { maxBuffer: 16 * 1024 * 1024 });
}

const FFMPEG = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'];

export type Container = 'mp4' | 'mov' | 'webm' | 'mkv';

/** A test-pattern clip with a sine tone: `seconds` long, `width`×`height`, in `container`. */
export async function makeVideo(dir: string, name: string, { container = 'mp4' as Container, seconds = 3, width = 640, height = 360, audio = true, bitrate = '1M' } = {}): Promise<string> {
  const file = path.join(dir, `${name}.${container}`);
  const video = container === 'webm' ? ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', bitrate] : ['-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', bitrate, '-g', '30', '-pix_fmt', 'yuv420p'];
  const sound = audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`] : [];
  const soundCodec = audio ? ['-c:a', container === 'webm' ? 'libopus' : 'aac'] : [];
  await tool('ffmpeg', [...FFMPEG, '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=30:duration=${seconds}`, ...sound, ...video, ...soundCodec, '-shortest', file]);
  return file;
}

/** The same clip marked as filmed in portrait (display matrix: turn 90°), as phones write it. */
export async function rotateVideo(source: string, degrees: number): Promise<string> {
  const file = source.replace(/(\.\w+)$/, `-rotated$1`);
  await tool('ffmpeg', [...FFMPEG, '-i', source, '-c', 'copy', '-metadata:s:v:0', `rotate=${degrees}`, file]);
  return file;
}

export async function makeAudio(dir: string, name: string, extension: 'm4a' | 'mp3', seconds = 2): Promise<string> {
  const file = path.join(dir, `${name}.${extension}`);
  await tool('ffmpeg', [...FFMPEG, '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-c:a', extension === 'mp3' ? 'libmp3lame' : 'aac', file]);
  return file;
}

/** `copies` back-to-back copies of `source` in one file (stream copy: fast, whatever the size). */
export async function loopVideo(source: string, copies: number): Promise<string> {
  const file = source.replace(/(\.\w+)$/, `-x${copies}$1`);
  await tool('ffmpeg', [...FFMPEG, '-stream_loop', String(copies - 1), '-i', source, '-c', 'copy', file]);
  return file;
}

/**
 * A decoder memory bomb: one 12000×12000 frame (432 MB decoded as RGB) in a 450 KB file — a flat
 * colour compresses to almost nothing as PNG-in-Matroska.
 */
export async function makeFrameBomb(dir: string): Promise<string> {
  const file = path.join(dir, 'frame-bomb.mkv');
  await tool('ffmpeg', [...FFMPEG, '-f', 'lavfi', '-i', 'color=c=red:s=12000x12000', '-frames:v', '1', '-c:v', 'png', file]);
  return file;
}

/** A JPEG as a phone takes it: stored landscape (left half red, right half blue), EXIF orientation 6, GPS. */
export async function phoneJpeg(width = 640, height = 480): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) raw[3 * i + (i % width < width / 2 ? 0 : 2)] = 255;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .withMetadata({ orientation: 6 })
    .withExif({ IFD0: { Make: 'Apple', Model: 'iPhone 15' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2958/100', GPSLongitudeRef: 'E', GPSLongitude: '2/1 17/1 4000/100' } })
    .toBuffer();
}

/** Is the top of a picture red and its bottom blue: phoneJpeg (or a preview of it) shown upright? */
export async function redOverBlue(image: Buffer): Promise<boolean> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => 3 * (y * info.width + x);
  const top = at(info.width >> 1, 2);
  const bottom = at(info.width >> 1, info.height - 3);
  return data[top]! > 200 && data[top + 2]! < 60 && data[bottom + 2]! > 200 && data[bottom]! < 60;
}

/** heif-enc from a JPEG: HEVC pixels as stored, the JPEG's EXIF (orientation, GPS) as an Exif item. */
export async function heifFromJpeg(dir: string, name: string, jpeg: Buffer): Promise<string> {
  const source = path.join(dir, `${name}.jpg`);
  const file = path.join(dir, `${name}.heic`);
  await fs.writeFile(source, jpeg);
  await tool('heif-enc', ['-q', '80', source, '-o', file]);
  return file;
}

/** qpdf: object streams (compressed dictionaries), and optionally AES-256 encryption. */
export async function qpdf(source: string, name: string, { userPassword }: { userPassword?: string } = {}): Promise<string> {
  const file = path.join(path.dirname(source), name);
  const encryption = userPassword === undefined ? [] : ['--encrypt', userPassword, 'owner-secret', '256', '--'];
  await tool('qpdf', ['--object-streams=generate', ...encryption, source, file]);
  return file;
}

/**
 * Decompression-bomb headers on real images: a small JPEG whose SOF says 65000×65000 (4.2 G
 * pixels), a small lossy WebP whose VP8 frame header says 16383×16383 (268 M pixels, its maximum).
 * Decoders that trust the header allocate for it; ours must refuse before decoding.
 */
export async function jpegBomb(): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#808080' } }).jpeg().toBuffer();
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
  jpeg.writeUInt16BE(65000, sof + 5); // height
  jpeg.writeUInt16BE(65000, sof + 7); // width
  return jpeg;
}

export async function webpBomb(): Promise<Buffer> {
  const webp = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#808080' } }).webp({ lossless: false }).toBuffer();
  // RIFF header (12) + 'VP8 ' chunk header (8) + frame tag (3) + start code 9d 01 2a (3): then 14-bit width and height.
  if (webp.toString('latin1', 12, 16) !== 'VP8 ') throw new Error('expected a simple lossy WebP');
  webp.writeUInt16LE(16383, 26);
  webp.writeUInt16LE(16383, 28);
  return webp;
}
