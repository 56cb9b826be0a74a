import type { ProcessingConfig } from '../config.js';
import type { Storage } from '../storage/storage.js';
import type { UploadRecord } from '../uploads/upload-repository.js';
import { detectType, SNIFF_BYTES } from './detect-type.js';
import { isImage, judgeFile } from './file-policy.js';
import { readImageHeaderFromRanges } from './media/image-header.js';

/**
 * Cheap verdicts first (issue 13, item 1): everything that can reject a file from its first bytes
 * and its headers — type, executables, declared-vs-detected type and extension, size per
 * category, image dimensions against MAX_IMAGE_PIXELS — is decided here, from a few KiB read
 * from storage, before a byte goes to clamd or a decoder. A rejected file is never scanned: a
 * 48 KB PNG declaring 20000×20000 pixels costs a millisecond, not a minute of clamd.
 */

export interface CheapVerdict {
  detectedType: string | undefined;
  /** Why the file is refused; undefined: nothing against it so far (the full pass decides). */
  rejection: string | undefined;
}

/** The formats whose header the image decoder (sharp) would also read: a broken header is a broken file. */
const DECODED_HERE = new Set(['png', 'gif', 'jpeg', 'webp', 'tiff', 'bmp']);

async function readRange(storage: Pick<Storage, 'read'>, key: string, offset: number, length: number): Promise<Buffer> {
  if (length <= 0) return Buffer.alloc(0);
  const stream = await storage.read(key, { start: offset, end: offset + length - 1 });
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      if (bytes >= length) break; // a store that ignores the range must not make us read it all
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, length);
}

export async function cheapVerdict(
  storage: Pick<Storage, 'read'>,
  upload: Pick<UploadRecord, 'storageKey' | 'filename' | 'filetype' | 'size'>,
  policy: Pick<ProcessingConfig, 'allowedTypes' | 'maxImageSize' | 'maxFileSize' | 'maxImagePixels'>,
): Promise<CheapVerdict> {
  const size = upload.size ?? 0;
  const head = await readRange(storage, upload.storageKey, 0, Math.min(size, SNIFF_BYTES));
  const detectedType = await detectType(head, { complete: size <= SNIFF_BYTES, filename: upload.filename });
  const verdict = judgeFile({ detected: detectedType, declared: upload.filetype, filename: upload.filename, size }, policy);
  if (!verdict.ok) return { detectedType, rejection: verdict.reason };
  if (detectedType === undefined || !isImage(detectedType)) return { detectedType, rejection: undefined };

  const read = await readImageHeaderFromRanges(size, (offset, length) =>
    offset === 0 && length <= head.length ? Promise.resolve(head.subarray(0, length)) : readRange(storage, upload.storageKey, offset, length),
  );
  if (read.kind === 'header') {
    const { width, height, maxPixels } = read.header;
    if (maxPixels > policy.maxImagePixels) {
      const frames = maxPixels > width * height ? `, ${maxPixels} in its largest frame` : '';
      return { detectedType, rejection: `image dimensions exceed ${policy.maxImagePixels} pixels: ${width}×${height}${frames} declared (decompression bomb?)` };
    }
  } else if (read.kind === 'invalid' && DECODED_HERE.has(formatOf(detectedType))) {
    return { detectedType, rejection: `image data is corrupt or truncated (${read.reason})` };
  }
  // HEIF/AVIF headers the decoders here cannot vouch for, and formats without a header reader,
  // go on to the full pass (whose decoder has its own pixel limit).
  return { detectedType, rejection: undefined };
}

const formatOf = (mime: string) => (mime === 'image/jpeg' ? 'jpeg' : mime.slice('image/'.length));
