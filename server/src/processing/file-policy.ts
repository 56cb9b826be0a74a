import path from 'node:path';
import type { ProcessingConfig } from '../config.js';

/**
 * What Haul accepts, by category. A detected MIME type belongs to at most one category; the
 * allowlist (ALLOWED_TYPES) names categories or exact MIME types, or is `*`: anything,
 * recognisable or not, except executables and active content (for backups, datasets).
 */
export const ANY_TYPE = '*';
const CATEGORIES: Record<string, readonly string[]> = {
  image: ['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/avif', 'image/heic', 'image/heif', 'image/bmp', 'image/tiff'],
  pdf: ['application/pdf'],
  office: [
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    'application/vnd.oasis.opendocument.text',
    'application/vnd.oasis.opendocument.spreadsheet',
    'application/vnd.oasis.opendocument.presentation',
    'application/x-cfb', // legacy .doc/.xls/.ppt (OLE compound file)
    'application/rtf',
  ],
  zip: ['application/zip'],
  video: ['video/mp4', 'video/webm', 'video/quicktime', 'video/matroska', 'video/x-matroska'],
  audio: ['audio/mpeg', 'audio/mp4', 'audio/x-m4a', 'audio/aac', 'audio/ogg', 'audio/opus', 'audio/wav', 'audio/x-wav', 'audio/flac', 'audio/x-flac', 'audio/webm'],
  text: ['text/plain', 'text/csv'],
};

/** Never accepted, whatever they are named or declared as: they run, or render as documents. */
const EXECUTABLE = new Set([
  'application/x-elf', 'application/x-msdownload', 'application/x-mach-binary', 'application/x-executable',
  'application/vnd.microsoft.portable-executable', 'application/x-sh', 'text/x-shellscript', 'application/x-msi',
  'text/html', 'image/svg+xml', 'application/xhtml+xml', 'application/javascript', 'text/javascript',
  'application/java-archive', 'application/x-java-archive', 'application/wasm',
]);

/** File extensions that agree with a detected type (the first is the canonical one). */
const EXTENSIONS: Record<string, readonly string[]> = {
  'image/jpeg': ['jpg', 'jpeg', 'jpe', 'jfif'],
  'image/png': ['png'],
  'image/gif': ['gif'],
  'image/webp': ['webp'],
  'image/avif': ['avif'],
  'image/heic': ['heic', 'heif'],
  'image/heif': ['heif', 'heic'],
  'image/bmp': ['bmp'],
  'image/tiff': ['tif', 'tiff'],
  'application/pdf': ['pdf'],
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': ['docx'],
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': ['xlsx'],
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': ['pptx'],
  'application/vnd.oasis.opendocument.text': ['odt'],
  'application/vnd.oasis.opendocument.spreadsheet': ['ods'],
  'application/vnd.oasis.opendocument.presentation': ['odp'],
  'application/x-cfb': ['doc', 'xls', 'ppt', 'msg'],
  'application/rtf': ['rtf'],
  'application/zip': ['zip'],
  'video/mp4': ['mp4', 'm4v'],
  'video/webm': ['webm'],
  'video/quicktime': ['mov', 'qt'],
  'video/matroska': ['mkv'], // what file-type calls Matroska
  'video/x-matroska': ['mkv'],
  'audio/mpeg': ['mp3'],
  'audio/mp4': ['m4a', 'mp4'],
  'audio/x-m4a': ['m4a'],
  'audio/aac': ['aac'],
  'audio/ogg': ['ogg', 'oga'],
  'audio/opus': ['opus', 'ogg'],
  'audio/wav': ['wav'],
  'audio/x-wav': ['wav'],
  'audio/flac': ['flac'],
  'audio/x-flac': ['flac'],
  'audio/webm': ['weba', 'webm'],
  'text/plain': ['txt', 'text', 'md', 'log', 'csv', 'tsv', 'json'],
  'text/csv': ['csv', 'tsv', 'txt'],
};

/** Declared types that are the same thing as the detected one under another name. */
const ALIASES: Record<string, readonly string[]> = {
  'image/jpeg': ['image/jpg', 'image/pjpeg'],
  'audio/wav': ['audio/x-wav', 'audio/wave', 'audio/vnd.wave'],
  'audio/x-wav': ['audio/wav', 'audio/wave', 'audio/vnd.wave'],
  'audio/mp4': ['audio/x-m4a', 'audio/m4a'],
  'audio/x-m4a': ['audio/mp4', 'audio/m4a'],
  'audio/flac': ['audio/x-flac'],
  'audio/x-flac': ['audio/flac'],
  'application/zip': ['application/x-zip-compressed', 'application/x-zip'],
  'text/csv': ['text/plain', 'application/vnd.ms-excel', 'text/comma-separated-values'],
  'text/plain': ['text/markdown', 'application/json', 'text/x-log', 'text/tab-separated-values'],
  'application/x-cfb': ['application/msword', 'application/vnd.ms-excel', 'application/vnd.ms-powerpoint', 'application/vnd.ms-outlook'],
  'video/quicktime': ['video/mov'],
  'video/matroska': ['video/x-matroska'],
  'image/heic': ['image/heif'],
  'image/heif': ['image/heic'],
};

export const categoryOf = (mime: string): string | undefined =>
  Object.keys(CATEGORIES).find((category) => CATEGORIES[category]!.includes(mime));

export const isImage = (mime: string) => categoryOf(mime) === 'image';

/** The MIME types an ALLOWED_TYPES-style entry names: a category's, or the one type given. */
export const typesNamedBy = (entry: string): readonly string[] => CATEGORIES[entry] ?? [entry];

export const isExecutable = (mime: string) => EXECUTABLE.has(mime);

/** Whether ALLOWED_TYPES takes `mime` (a detected type, or a declared one by its canonical name). */
export function isAllowed(mime: string, allowedTypes: readonly string[]): boolean {
  if (EXECUTABLE.has(mime)) return false;
  if (allowedTypes.includes(ANY_TYPE)) return true;
  const category = categoryOf(mime);
  return allowedTypes.includes(mime) || (category !== undefined && allowedTypes.includes(category));
}

/** A declared (browser) type by its canonical name: `image/jpg` → `image/jpeg`; unknown ones as given. */
export function canonicalType(declared: string): string {
  if (categoryOf(declared) !== undefined || EXECUTABLE.has(declared)) return declared;
  return Object.keys(ALIASES).find((mime) => categoryOf(mime) !== undefined && ALIASES[mime]!.includes(declared)) ?? declared;
}

const KNOWN_EXTENSIONS = new Set(Object.values(EXTENSIONS).flat());
const KNOWN_TYPES = new Set(Object.entries(ALIASES).flatMap(([mime, aliases]) => [mime, ...aliases]).concat(Object.values(CATEGORIES).flat()));

/** Whether a name (by its extension) or a declared type claims a type Haul knows: only such a claim can be false. */
export const claimsKnownType = ({ filename, declared }: { filename?: string | null; declared?: string | null }): boolean =>
  filename ? KNOWN_EXTENSIONS.has(path.extname(filename).slice(1).toLowerCase()) : declared ? KNOWN_TYPES.has(declared.split(';')[0]!.trim().toLowerCase()) : false;

export type Verdict = { ok: true } | { ok: false; reason: string };

/**
 * Decides whether a finished upload with `detected` content may be kept. The declared
 * `filetype` and the filename's extension must agree with the content; executables are
 * refused however they are named; sizes are limited per category.
 */
export function judgeFile(
  { detected, declared, filename, size }: { detected: string | undefined; declared: string | null; filename: string | null; size: number },
  policy: Pick<ProcessingConfig, 'allowedTypes' | 'maxImageSize' | 'maxFileSize'>,
): Verdict {
  const anything = policy.allowedTypes.includes(ANY_TYPE);
  if (detected === undefined) {
    return anything ? withinSize(undefined, size, policy) : { ok: false, reason: 'the file type could not be recognised from its content' };
  }
  if (EXECUTABLE.has(detected)) return { ok: false, reason: `executable or active content (${detected}) is not accepted` };
  if (!isAllowed(detected, policy.allowedTypes)) return { ok: false, reason: `files of type ${detected} are not accepted` };

  // With `*`, a name or declared type Haul knows nothing about claims nothing; one it knows must agree.
  const declaredType = declared?.split(';')[0]!.trim().toLowerCase();
  if (declaredType && declaredType !== 'application/octet-stream' && declaredType !== detected && !ALIASES[detected]?.includes(declaredType)
    && !(anything && !KNOWN_TYPES.has(declaredType))) {
    return { ok: false, reason: `declared as ${declaredType} but the content is ${detected}` };
  }
  const extension = filename ? path.extname(filename).slice(1).toLowerCase() : '';
  if (extension && !(EXTENSIONS[detected] ?? []).includes(extension) && !(anything && !KNOWN_EXTENSIONS.has(extension))) {
    return { ok: false, reason: `named .${extension} but the content is ${detected}` };
  }
  return withinSize(detected, size, policy);
}

function withinSize(detected: string | undefined, size: number, policy: Pick<ProcessingConfig, 'maxImageSize' | 'maxFileSize'>): Verdict {
  const category = detected === undefined ? undefined : categoryOf(detected);
  const limit = category === 'image' ? policy.maxImageSize : policy.maxFileSize;
  if (size > limit) return { ok: false, reason: `${category ?? detected ?? 'such'} files may be at most ${limit} bytes; this one has ${size}` };
  return { ok: true };
}

/**
 * What ALLOWED_TYPES accepts, spelled the way browsers describe files: MIME types (with the
 * aliases browsers declare) and extensions. For clients' up-front checks (GET /api/config).
 */
export function acceptedTypes(allowedTypes: readonly string[]): { mimeTypes: string[]; extensions: string[] } {
  // `*`: no list to check against (an empty one would read as "nothing").
  if (allowedTypes.includes(ANY_TYPE)) return { mimeTypes: [], extensions: [] };
  const mimeTypes = new Set<string>();
  for (const entry of allowedTypes) {
    for (const mime of CATEGORIES[entry] ?? [entry]) {
      if (EXECUTABLE.has(mime)) continue;
      mimeTypes.add(mime);
      for (const alias of ALIASES[mime] ?? []) mimeTypes.add(alias);
    }
  }
  const extensions = new Set<string>();
  for (const mime of mimeTypes) for (const ext of EXTENSIONS[mime] ?? []) extensions.add(`.${ext}`);
  return { mimeTypes: [...mimeTypes].sort(), extensions: [...extensions].sort() };
}
