import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_LIMITS, done, fileProblem, sandboxFailure, type MediaResult } from './media-result.js';
import { demuxerFor } from './media-types.js';
import { runSandboxed, type SandboxLimits } from './sandbox.js';

/**
 * Audio and video through ffprobe/ffmpeg. Both read the stored file by path with the demuxer
 * forced and only the `file` protocol allowed (input option `-protocol_whitelist file`: no
 * http/tcp/udp, no `pipe`, no `concat:`/`subfile:` tricks; stricter than `file,pipe`, which
 * the output side does not need because it is not subject to the input's whitelist), so nothing
 * in a file can make them open a URL or another file. The poster seeks (`-ss` before `-i`:
 * demuxer-level seek to the keyframe before 1 s) and decodes one frame, so its cost does not
 * grow with the file: ~0.2 s for a 10 MiB and for a 1 GiB 1080p H.264 file alike.
 */

export interface MediaProbe {
  hasVideo: boolean;
  hasAudio: boolean;
  /** Displayed size: sample aspect ratio and rotation applied. null without a video stream. */
  width: number | null;
  height: number | null;
  /** Clockwise degrees the stored frames are turned for display (0, 90, 180, 270). */
  rotation: number;
  durationMs: number | null;
  /** ffprobe's index of the video stream a poster is taken from. */
  videoStreamIndex: number | null;
}

export interface MediaToolOptions {
  limits?: SandboxLimits;
  signal?: AbortSignal;
}

const streamSchema = z.object({
  index: z.number(),
  codec_type: z.string().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  sample_aspect_ratio: z.string().optional(),
  duration: z.string().optional(),
  disposition: z.object({ attached_pic: z.number().optional() }).optional(),
  tags: z.record(z.string(), z.string()).optional(),
  side_data_list: z.array(z.object({ rotation: z.number().optional() })).optional(),
});
const probeSchema = z.object({
  streams: z.array(streamSchema).default([]),
  format: z.object({ duration: z.string().optional() }).optional(),
});

/** `file:` + absolute path: never read as an option or another protocol, whatever the name. */
function inputUrl(file: string): string {
  return `file:${path.resolve(file)}`;
}

function seconds(value: string | undefined): number | null {
  const n = value === undefined ? NaN : Number(value);
  return Number.isFinite(n) && n >= 0 ? Math.round(n * 1000) : null;
}

function ratio(value: string | undefined): number {
  const match = /^(\d+):(\d+)$/.exec(value ?? '');
  if (!match || Number(match[1]) === 0 || Number(match[2]) === 0) return 1;
  return Number(match[1]) / Number(match[2]);
}

/** Reads ffprobe's JSON into a MediaProbe (exported for tests). */
export function parseProbe(json: unknown): MediaProbe | undefined {
  const parsed = probeSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const { streams, format } = parsed.data;
  // A cover image in an audio file is a "video" stream marked attached_pic: not a video.
  const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1 && s.width && s.height);
  const hasAudio = streams.some((s) => s.codec_type === 'audio');
  const durations = streams.map((s) => seconds(s.duration)).filter((d): d is number => d !== null);
  const durationMs = seconds(format?.duration) ?? (durations.length ? Math.max(...durations) : null);
  if (!video) return { hasVideo: false, hasAudio, width: null, height: null, rotation: 0, durationMs, videoStreamIndex: null };
  // ffprobe prints the display matrix's counter-clockwise angle; ffmpeg turns frames by its negation.
  const matrix = video.side_data_list?.find((d) => d.rotation !== undefined)?.rotation;
  const counterClockwise = matrix ?? -Number(video.tags?.rotate ?? 0);
  const rotation = ((Math.round(-counterClockwise / 90) * 90) % 360 + 360) % 360;
  const storedWidth = Math.round(video.width! * ratio(video.sample_aspect_ratio));
  const turned = rotation === 90 || rotation === 270;
  return {
    hasVideo: true,
    hasAudio,
    width: turned ? video.height! : storedWidth,
    height: turned ? storedWidth : video.height!,
    rotation,
    durationMs,
    videoStreamIndex: video.index,
  };
}

/** Streams, size, rotation and duration of an audio or video file. */
export async function probeMedia(file: string, mime: string, options: MediaToolOptions = {}): Promise<MediaResult<MediaProbe>> {
  const demuxer = demuxerFor(mime);
  if (!demuxer) return fileProblem(`no media reader for ${mime}`);
  const outcome = await runSandboxed({
    command: 'ffprobe',
    args: ['-v', 'error', '-hide_banner', '-protocol_whitelist', 'file', '-f', demuxer, '-print_format', 'json', '-show_streams', '-show_format', '-i', inputUrl(file)],
    limits: options.limits ?? DEFAULT_LIMITS.probe,
    signal: options.signal,
  });
  if (outcome.kind !== 'ok') return sandboxFailure('ffprobe', outcome);
  let json: unknown;
  try {
    json = JSON.parse(outcome.stdout.toString('utf8'));
  } catch {
    return fileProblem('ffprobe gave unreadable output');
  }
  const probe = parseProbe(json);
  if (!probe) return fileProblem('ffprobe gave unexpected output');
  if (!probe.hasVideo && !probe.hasAudio) return fileProblem('no audio or video stream found');
  return done(probe);
}

export interface PosterOptions extends MediaToolOptions {
  /** Frames with more stored pixels are refused before decoding (a frame is a decompression bomb too). */
  maxPixels: number;
  /** Long side of the poster, never enlarged (the largest preview size). */
  maxSide: number;
}

/** Clips this short get their first frame; longer ones the frame at 1 s (past fades from black). */
const POSTER_AT_MS = 1000;

/**
 * One frame as a PNG (long side ≤ maxSide, square pixels, rotation applied), to be turned into
 * WebP previews like any image. Seeks to ~1 s, or takes the first frame of a shorter clip.
 */
export async function extractPoster(file: string, mime: string, probe: MediaProbe, options: PosterOptions): Promise<MediaResult<Buffer>> {
  const demuxer = demuxerFor(mime);
  if (!demuxer) return fileProblem(`no media reader for ${mime}`);
  if (!probe.hasVideo || probe.videoStreamIndex === null) return fileProblem('no video stream: no poster');
  if (probe.width! * probe.height! > options.maxPixels) {
    return fileProblem(`video frames of ${probe.width}×${probe.height} exceed ${options.maxPixels} pixels`);
  }
  const longClip = probe.durationMs !== null && probe.durationMs >= POSTER_AT_MS + 500;
  const first = await posterAt(file, demuxer, probe.videoStreamIndex, longClip ? POSTER_AT_MS : 0, options);
  // Timestamps that do not start at 0 can put 1 s past the end of a clip: fall back to the first frame.
  if (first.kind === 'done' && first.value.length === 0 && longClip) {
    return emptyIsProblem(await posterAt(file, demuxer, probe.videoStreamIndex, 0, options));
  }
  return emptyIsProblem(first);
}

function emptyIsProblem(result: MediaResult<Buffer>): MediaResult<Buffer> {
  return result.kind === 'done' && result.value.length === 0 ? fileProblem('no video frame could be decoded') : result;
}

async function posterAt(file: string, demuxer: string, streamIndex: number, atMs: number, options: PosterOptions): Promise<MediaResult<Buffer>> {
  const side = Math.floor(options.maxSide);
  // Square pixels first (anamorphic video), then fit the long side; ffmpeg has already applied
  // the rotation (autorotate), so iw/ih are the displayed axes.
  const filters = [
    'scale=trunc(iw*sar/2)*2:ih',
    'setsar=1',
    `scale=w='if(gte(iw,ih),min(${side},iw),-2)':h='if(gte(iw,ih),-2,min(${side},ih))'`,
  ].join(',');
  const outcome = await runSandboxed({
    command: 'ffmpeg',
    args: [
      '-nostdin', '-hide_banner', '-loglevel', 'error',
      // One decoding thread: a single frame gains nothing from frame threads, and the memory
      // each extra thread maps would make the address-space limit depend on the core count.
      '-threads', '1', '-filter_threads', '1',
      '-protocol_whitelist', 'file', '-f', demuxer,
      '-ss', (atMs / 1000).toFixed(3), '-i', inputUrl(file),
      '-map', `0:${streamIndex}`, '-frames:v', '1', '-an', '-sn', '-dn',
      '-vf', filters, '-pix_fmt', 'rgb24',
      '-f', 'image2pipe', '-c:v', 'png', '-compression_level', '1', 'pipe:1',
    ],
    limits: options.limits ?? DEFAULT_LIMITS.poster,
    signal: options.signal,
  });
  if (outcome.kind !== 'ok') return sandboxFailure('ffmpeg', outcome);
  return done(outcome.stdout);
}
