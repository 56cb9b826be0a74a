/**
 * S3 refuses multipart parts under 5 MiB (except the last), and Haul stores each partial upload
 * of a parallel upload as parts of the final one: every partial but the last must be at least
 * this big.
 *
 * @example
 * ```ts
 * import { MIN_PART_SIZE } from '@haul/client';
 * const worthParallel = file.size >= 2 * MIN_PART_SIZE;
 * ```
 */
export const MIN_PART_SIZE = 5 * 2 ** 20;

/** A byte range [start, end) of the file sent as one partial upload. */
export interface PartBoundary {
  start: number;
  end: number;
}

/**
 * Splits `size` bytes into at most `requested` contiguous parts of at least `minPartSize` each
 * (the last takes the remainder). One part means: upload as a single stream.
 */
export function partBoundaries(size: number, requested: number, minPartSize = MIN_PART_SIZE): PartBoundary[] {
  const count = Math.max(1, Math.min(Math.floor(requested), Math.floor(size / minPartSize)));
  if (count <= 1) return [{ start: 0, end: size }];
  const partSize = Math.floor(size / count);
  return Array.from({ length: count }, (_, i) => ({ start: i * partSize, end: i === count - 1 ? size : (i + 1) * partSize }));
}

/** Whether a tus `Tus-Extension` header lists `extension` (default: `concatenation`). */
export function supportsConcatenation(extensions: string | null | undefined, extension = 'concatenation'): boolean {
  return (extensions ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .includes(extension);
}

/**
 * The `Upload-Metadata` value of a metadata object (tus: keys and base64 values, comma
 * separated), with nothing platform-specific: browsers, React Native and Node alike.
 */
export function encodeUploadMetadata(metadata: Readonly<Record<string, string>>): string {
  const base64 = (text: string) => {
    let binary = '';
    for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
    return btoa(binary);
  };
  return Object.entries(metadata).map(([key, value]) => `${key} ${base64(value)}`).join(',');
}
