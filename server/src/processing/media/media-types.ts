/**
 * Which media path a detected type (file-type's MIME names, plus the aliases Haul's policy uses)
 * takes, and which ffmpeg demuxer reads it. The demuxer is always forced (`-f`): ffmpeg never
 * guesses a format from the content, so a file cannot pick a playlist/concat demuxer that opens
 * other files or URLs.
 */
export type MediaKind = 'image' | 'heif' | 'video' | 'audio' | 'pdf';

/** sharp decodes these itself (AVIF too: its prebuilt libvips has an AV1 decoder, not HEVC). */
const SHARP_IMAGES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/avif', 'image/tiff']);
const HEIF_IMAGES = new Set(['image/heic', 'image/heif']);

const DEMUXERS: Record<string, string> = {
  'video/mp4': 'mov',
  'video/quicktime': 'mov',
  'video/x-m4v': 'mov',
  'video/3gpp': 'mov',
  'video/3gpp2': 'mov',
  'video/webm': 'matroska',
  'video/matroska': 'matroska',
  'video/x-matroska': 'matroska',
  'video/ogg': 'ogg',
  'video/vnd.avi': 'avi',
  'audio/mp4': 'mov',
  'audio/x-m4a': 'mov',
  'audio/mpeg': 'mp3',
  'audio/aac': 'aac',
  'audio/ogg': 'ogg',
  'audio/opus': 'ogg',
  'audio/ogg; codecs=opus': 'ogg',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/flac': 'flac',
  'audio/x-flac': 'flac',
  'audio/webm': 'matroska',
  'audio/aiff': 'aiff',
};

export function mediaKindOf(mime: string): MediaKind | undefined {
  if (SHARP_IMAGES.has(mime)) return 'image';
  if (HEIF_IMAGES.has(mime)) return 'heif';
  if (mime === 'application/pdf') return 'pdf';
  if (DEMUXERS[mime]) return mime.startsWith('video/') ? 'video' : 'audio';
  return undefined;
}

/** The ffmpeg demuxer for an audio/video type, or undefined (not read with ffmpeg). */
export function demuxerFor(mime: string): string | undefined {
  return DEMUXERS[mime];
}
