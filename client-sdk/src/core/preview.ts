import { type PlainPreview, PREVIEW_MAX_SIDE } from './platform.js';

/**
 * Previews made in the browser before a file is encrypted (the server never sees the image, so
 * it cannot make thumbnails): an image, or a video's first frame, drawn small on a canvas and
 * encoded as WebP (JPEG where WebP encoding is missing). Anything that fails gives no preview:
 * a preview is a nicety, never a reason to fail an upload.
 */

/** Images larger than this are not decoded for a preview (memory on phones). */
const MAX_PREVIEW_SOURCE = 50 * 2 ** 20;
const VIDEO_FRAME_TIMEOUT_MS = 5000;

type Drawable = ImageBitmap | HTMLVideoElement;

const scaled = (width: number, height: number) => {
  const scale = Math.min(1, PREVIEW_MAX_SIDE / Math.max(width, height, 1));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
};

async function encode(source: Drawable, width: number, height: number): Promise<PlainPreview | null> {
  const size = scaled(width, height);
  const doc = (globalThis as { document?: Document }).document;
  const canvas = doc ? doc.createElement('canvas') : new OffscreenCanvas(size.width, size.height);
  canvas.width = size.width;
  canvas.height = size.height;
  const context = canvas.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
  if (!context) return null;
  context.drawImage(source, 0, 0, size.width, size.height);
  const blob =
    'convertToBlob' in canvas
      ? await canvas.convertToBlob({ type: 'image/webp', quality: 0.75 })
      : await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/webp', 0.75));
  if (!blob) return null;
  return { bytes: new Uint8Array(await blob.arrayBuffer()), type: blob.type || 'image/png' };
}

async function videoFrame(file: Blob): Promise<PlainPreview | null> {
  const doc = (globalThis as { document?: Document }).document;
  if (!doc) return null;
  const video = doc.createElement('video');
  const url = URL.createObjectURL(file);
  try {
    video.muted = true;
    video.preload = 'auto';
    video.src = url;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no frame in time')), VIDEO_FRAME_TIMEOUT_MS);
      video.onloadeddata = () => {
        video.currentTime = Math.min(0.1, (video.duration || 0) / 2);
      };
      video.onseeked = () => {
        clearTimeout(timer);
        resolve();
      };
      video.onerror = () => {
        clearTimeout(timer);
        reject(new Error('video not decodable'));
      };
    });
    return await encode(video, video.videoWidth, video.videoHeight);
  } finally {
    video.removeAttribute('src');
    URL.revokeObjectURL(url);
  }
}

/** A browser preview of an image or video Blob; null for other files or when the browser cannot. */
export async function browserPreview(file: Blob): Promise<PlainPreview | null> {
  try {
    if (file.type.startsWith('image/') && file.size <= MAX_PREVIEW_SOURCE && typeof createImageBitmap === 'function') {
      const bitmap = await createImageBitmap(file);
      try {
        return await encode(bitmap, bitmap.width, bitmap.height);
      } finally {
        bitmap.close();
      }
    }
    if (file.type.startsWith('video/')) return await videoFrame(file);
  } catch {
    // No preview: see above.
  }
  return null;
}
