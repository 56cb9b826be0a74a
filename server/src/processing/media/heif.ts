import fs from 'node:fs/promises';
import path from 'node:path';
import { hasTransform, parseHeifMeta, type HeifMeta } from './heif-boxes.js';
import { readImageHeaderFromFile } from './image-header.js';
import { DEFAULT_LIMITS, done, fileProblem, sandboxFailure, type MediaResult } from './media-result.js';
import { runSandboxed, withTempDir } from './sandbox.js';
import type { MediaToolOptions } from './video.js';

/**
 * HEIC/HEIF through libheif (Debian's heif-thumbnailer; sharp's prebuilt libvips has no HEVC
 * decoder). `heif-thumbnailer -p` decodes exactly the primary image — never an embedded
 * thumbnail, which could show something else — with `irot`/`imir` applied, and writes a PNG
 * (heif-convert would decode every top-level image of the file). It scales with nearest
 * neighbour, so it is asked for twice the largest preview and sharp makes the final sizes.
 *
 * Orientation: the container's `irot`/`imir` are authoritative (HEIF: "the transformative
 * properties … shall be applied"), and libheif applies them; the EXIF orientation, which the PNG
 * still carries, must then be ignored, or iPhone photos (irot and EXIF both say 90°) turn twice.
 * A file without transform properties but with an EXIF orientation (written by converters such as
 * heif-enc 1.15 from a rotated JPEG) gets its EXIF orientation applied: `autoOrient`.
 * AVIF is decoded by sharp itself (AV1 is in its libvips), like any image.
 */

export interface HeifRaster {
  png: Buffer;
  /** Whether renderPreviews should apply the PNG's EXIF orientation. */
  autoOrient: boolean;
}

export interface HeifOptions extends MediaToolOptions {
  maxPixels: number;
  /** The largest preview's long side. */
  maxSide: number;
}

async function readMeta(file: string): Promise<HeifMeta | string> {
  const handle = await fs.open(file, 'r');
  try {
    for (let length = 256 * 1024; length <= 16 * 1024 * 1024; length *= 4) {
      const head = Buffer.alloc(length);
      const { bytesRead } = await handle.read(head, 0, length, 0);
      const parsed = parseHeifMeta(head.subarray(0, bytesRead));
      if (parsed.kind === 'meta') return parsed.meta;
      if (parsed.kind === 'invalid') return parsed.reason;
      if (bytesRead < length) break;
    }
    return 'HEIF meta box not found';
  } finally {
    await handle.close();
  }
}

export async function decodeHeif(file: string, options: HeifOptions): Promise<MediaResult<HeifRaster>> {
  // Cheap verdict first: every item's declared size against the pixel limit.
  const header = await readImageHeaderFromFile(file);
  if (header.kind !== 'header') return fileProblem(header.kind === 'invalid' ? header.reason : 'not a HEIF image');
  if (header.header.maxPixels > options.maxPixels) {
    return fileProblem(`image dimensions exceed ${options.maxPixels} pixels (decompression bomb?)`);
  }
  const meta = await readMeta(file);
  if (typeof meta === 'string') return fileProblem(meta);
  const primary = meta.items.find((item) => item.id === meta.primaryItemId);
  if (!primary) return fileProblem('HEIF without a primary image');

  return withTempDir(async (dir) => {
    const output = path.join(dir, 'primary.png');
    const outcome = await runSandboxed({
      command: 'heif-thumbnailer',
      args: ['-p', '-s', String(2 * Math.floor(options.maxSide)), path.resolve(file), output],
      cwd: dir,
      limits: options.limits ?? DEFAULT_LIMITS.heif,
      signal: options.signal,
    });
    if (outcome.kind !== 'ok') return sandboxFailure('heif-thumbnailer', outcome);
    const png = await fs.readFile(output).catch(() => null);
    if (!png) return fileProblem('heif-thumbnailer wrote no image');
    return done({ png, autoOrient: !hasTransform(primary) });
  });
}
