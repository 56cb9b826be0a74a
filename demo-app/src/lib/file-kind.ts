import type { UploadJson } from '@haul/client';

export type FileKind = 'image' | 'pdf' | 'video' | 'audio' | 'archive' | 'text' | 'document' | 'spreadsheet' | 'presentation' | 'other';

const BY_TYPE: Array<[RegExp, FileKind]> = [
  [/^image\//, 'image'],
  [/^application\/pdf$/, 'pdf'],
  [/^video\//, 'video'],
  [/^audio\//, 'audio'],
  [/zip|compressed|x-tar|gzip/, 'archive'],
  [/^text\//, 'text'],
  [/wordprocessing|opendocument\.text|msword|rtf/, 'document'],
  [/spreadsheet|ms-excel/, 'spreadsheet'],
  [/presentation|ms-powerpoint/, 'presentation'],
];

const BY_EXTENSION: Record<string, FileKind> = {
  jpg: 'image', jpeg: 'image', png: 'image', gif: 'image', webp: 'image', avif: 'image', heic: 'image', bmp: 'image', tif: 'image', tiff: 'image',
  pdf: 'pdf', mp4: 'video', mov: 'video', webm: 'video', mkv: 'video', mp3: 'audio', wav: 'audio', flac: 'audio', ogg: 'audio', m4a: 'audio',
  zip: 'archive', txt: 'text', csv: 'text', md: 'text', json: 'text', log: 'text', doc: 'document', docx: 'document', odt: 'document', rtf: 'document',
  xls: 'spreadsheet', xlsx: 'spreadsheet', ods: 'spreadsheet', ppt: 'presentation', pptx: 'presentation', odp: 'presentation',
};

export function extensionOf(filename: string | null): string {
  const match = filename ? /\.([A-Za-z0-9]{1,8})$/.exec(filename) : null;
  return match ? match[1]!.toLowerCase() : '';
}

/**
 * The kind of file, for its icon: the server's detected type once processed (the truth), else
 * what the browser declared, else the name's extension.
 */
export function fileKind(upload: Pick<UploadJson, 'detectedType' | 'declaredType' | 'filename'>): FileKind {
  for (const type of [upload.detectedType, upload.declaredType]) {
    if (!type || type === 'application/octet-stream') continue;
    const found = BY_TYPE.find(([pattern]) => pattern.test(type));
    if (found) return found[1];
  }
  return BY_EXTENSION[extensionOf(upload.filename)] ?? 'other';
}

/** Only these open in the page: images through their previews, PDFs in the browser's viewer. */
export const canPreview = (upload: UploadJson): boolean =>
  upload.status === 'ready' && (upload.thumbnails.length > 0 || upload.detectedType === 'application/pdf');
