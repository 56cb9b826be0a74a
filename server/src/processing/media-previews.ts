import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type MediaJson, NO_MEDIA } from '@haul/api';
import type { Storage } from '../storage/storage.js';
import { decodeHeif } from './media/heif.js';
import { DEFAULT_LIMITS, type MediaResult } from './media/media-result.js';
import { type MediaKind, mediaKindOf } from './media/media-types.js';
import { readPdfInfo, renderFirstPage } from './media/pdf.js';
import { type RasterPreviews, renderPreviews } from './media/raster-previews.js';
import { type SandboxLimits, withTempDir } from './media/sandbox.js';
import { extractPoster, probeMedia } from './media/video.js';
import type { Previews, Thumbnail } from './thumbnails.js';

/**
 * Previews and facts of what sharp cannot read from the upload stream itself: HEIC/HEIF photos
 * (libheif), videos and audio (ffprobe/ffmpeg) and PDFs (poppler), each decoder sandboxed
 * (media/sandbox.ts: time, memory and output limits, no network). Images sharp decodes get their
 * previews during the inspection pass (thumbnails.ts); `mediaOfImage` turns those into `media`.
 *
 * Whatever a decoder does — fail, hang, crash, run out of memory — the upload is still `ready`:
 * the result is then no previews and a `note` saying why ("no preview: …"). Decoders read a
 * local file: the stored one on disk, a temporary copy from S3 (removed afterwards).
 */

export interface MediaFindings {
  media: MediaJson;
  thumbnails: Thumbnail[];
  /** Why there is no preview (or no facts), for the upload's reason; null if all went well. */
  note: string | null;
  /** The note is about this server (a decoder missing or not starting), not the file: worth a warning. */
  toolProblem?: boolean;
}

export interface MediaPreviewOptions {
  sizes: readonly number[];
  maxPixels: number;
  /** MEDIA_TIME_LIMIT_MS: the wall-clock limit of each decoder run (memory and output limits: DEFAULT_LIMITS). */
  timeLimitMs: number;
}

/** The kinds decoded here, from a file, by external tools. */
export function needsExternalDecoder(detectedType: string | undefined): boolean {
  const kind = detectedType === undefined ? undefined : mediaKindOf(detectedType);
  return kind === 'heif' || kind === 'video' || kind === 'audio' || kind === 'pdf';
}

/** `media` from the previews the inspection pass made of an image sharp decodes. */
export function mediaOfImage(previews: Previews): MediaJson {
  return { ...NO_MEDIA, width: previews.width ?? null, height: previews.height ?? null, placeholder: previews.placeholder };
}

const timed = (limits: SandboxLimits, timeLimitMs: number): SandboxLimits => ({ ...limits, timeoutMs: timeLimitMs });
const noPreview = (reason: string) => `no preview: ${reason}`;

/** Runs `work` on a local path of the stored file: the file itself on disk, a temporary copy from S3. */
export async function withLocalFile<T>(storage: Pick<Storage, 'localPath' | 'read'>, key: string, work: (file: string) => Promise<T>): Promise<T> {
  if (storage.localPath) return work(storage.localPath(key));
  return withTempDir(async (dir) => {
    const copy = path.join(dir, 'original');
    await pipeline(await storage.read(key), fs.createWriteStream(copy));
    return work(copy);
  });
}

function fromRaster(previews: RasterPreviews, facts: Partial<MediaJson>): MediaFindings {
  return {
    media: { ...NO_MEDIA, width: previews.width ?? null, height: previews.height ?? null, placeholder: previews.placeholder, ...facts },
    thumbnails: previews.thumbnails,
    note: null,
  };
}

/** Facts known without a picture (a video's size and duration, a PDF's pages), and why there is no preview. */
function withoutPreview(facts: Partial<MediaJson>, failure: MediaResult<unknown> & { kind: 'failed' }): MediaFindings {
  return { media: { ...NO_MEDIA, ...facts }, thumbnails: [], note: noPreview(failure.reason), toolProblem: failure.blame === 'environment' };
}

/** Previews and facts of a HEIC/HEIF photo, a video, an audio file or a PDF at `file`. */
export async function describeMedia(file: string, detectedType: string, options: MediaPreviewOptions): Promise<MediaFindings> {
  const kind: MediaKind | undefined = mediaKindOf(detectedType);
  const { sizes, maxPixels, timeLimitMs } = options;
  const maxSide = Math.max(...sizes);
  const picture = (raster: Buffer, autoOrient: boolean) => renderPreviews(raster, { sizes, maxPixels, autoOrient });

  switch (kind) {
    case 'heif': {
      const decoded = await decodeHeif(file, { maxPixels, maxSide, limits: timed(DEFAULT_LIMITS.heif, timeLimitMs) });
      if (decoded.kind !== 'done') return withoutPreview({}, decoded);
      const previews = await picture(decoded.value.png, decoded.value.autoOrient);
      return previews.kind === 'done' ? fromRaster(previews.value, {}) : withoutPreview({}, previews);
    }
    case 'video':
    case 'audio': {
      const probed = await probeMedia(file, detectedType, { limits: timed(DEFAULT_LIMITS.probe, timeLimitMs) });
      if (probed.kind !== 'done') return withoutPreview({}, probed);
      const probe = probed.value;
      const facts = { width: probe.width, height: probe.height, durationMs: probe.durationMs };
      // An audio file, or a "video" with only a sound track: its duration is all there is.
      if (!probe.hasVideo) return { media: { ...NO_MEDIA, durationMs: probe.durationMs }, thumbnails: [], note: null };
      const poster = await extractPoster(file, detectedType, probe, { maxPixels, maxSide, limits: timed(DEFAULT_LIMITS.poster, timeLimitMs) });
      if (poster.kind !== 'done') return withoutPreview(facts, poster);
      // ffmpeg has applied the rotation: the poster is upright, its EXIF-free PNG needs no turning.
      const previews = await picture(poster.value, false);
      return previews.kind === 'done' ? fromRaster(previews.value, facts) : withoutPreview(facts, previews);
    }
    case 'pdf': {
      const info = await readPdfInfo(file, { limits: timed(DEFAULT_LIMITS.pdfInfo, timeLimitMs) });
      if (info.kind !== 'done') return withoutPreview({}, info);
      const facts = { pages: info.value.pages };
      if (info.value.passwordRequired) {
        return { media: { ...NO_MEDIA, ...facts }, thumbnails: [], note: noPreview('the PDF needs a password to open') };
      }
      const page = await renderFirstPage(file, { maxSide, limits: timed(DEFAULT_LIMITS.pdfPage, timeLimitMs) });
      if (page.kind !== 'done') return withoutPreview(facts, page);
      const previews = await picture(page.value, false);
      if (previews.kind !== 'done') return withoutPreview(facts, previews);
      // The page's size is the rendering's aspect ratio at the largest preview size, not points.
      return fromRaster(previews.value, facts);
    }
    default:
      return { media: { ...NO_MEDIA }, thumbnails: [], note: null };
  }
}
