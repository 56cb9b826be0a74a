import { z } from 'zod';
import { HaulError } from '../errors.js';
import { sanitizeFilename } from './filename.js';

const MAX_HEADER_BYTES = 8 * 1024;
const MAX_PAIRS = 32;
const MAX_VALUE_BYTES = 1024;
const KEY = /^[A-Za-z0-9_.-]{1,64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// RFC 6838 type/subtype with optional parameters.
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}(?:\s*;\s*[a-z0-9!#$&^_.+-]+=(?:[a-z0-9!#$&^_.+-]+|"[^"\\\r\n]*"))*$/i;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Raw Upload-Metadata: key → decoded bytes (null for a key without value). */
export type RawMetadata = Map<string, Buffer | null>;

/**
 * Parses Upload-Metadata strictly. tus 1.0: "The Upload-Metadata request and response header
 * MUST consist of one or more comma-separated key-value pairs. The key and value MUST be
 * separated by a space. The key MUST NOT contain spaces and commas and MUST NOT be empty. The key
 * SHOULD be ASCII encoded and the value MUST be Base64 encoded. All keys MUST be unique. The value
 * MAY be empty. In these cases, the space, which would normally separate the key and the value,
 * MAY be left out."
 */
export function parseUploadMetadata(header: string | null | undefined): RawMetadata {
  const pairs: RawMetadata = new Map();
  if (header === null || header === undefined || header.trim() === '') return pairs;
  if (Buffer.byteLength(header) > MAX_HEADER_BYTES) {
    throw new HaulError('INVALID_METADATA', `Upload-Metadata must be at most ${MAX_HEADER_BYTES} bytes`);
  }
  const items = header.split(',');
  if (items.length > MAX_PAIRS) throw new HaulError('INVALID_METADATA', `at most ${MAX_PAIRS} metadata keys are allowed`);
  for (const item of items) {
    // No whitespace around pairs (tus 1.0: pairs are separated by a comma, key and value by a space).
    const [key, value, ...rest] = item.split(' ');
    if (!key || !KEY.test(key) || rest.length > 0) {
      throw new HaulError('INVALID_METADATA', `malformed metadata pair "${item.trim().slice(0, 80)}"`);
    }
    if (pairs.has(key)) throw new HaulError('INVALID_METADATA', `duplicate metadata key "${key}"`);
    if (value === undefined || value === '') {
      pairs.set(key, null);
      continue;
    }
    if (!BASE64.test(value)) throw new HaulError('INVALID_METADATA', `value of "${key}" is not valid base64`);
    const bytes = Buffer.from(value, 'base64');
    if (bytes.length > MAX_VALUE_BYTES) {
      throw new HaulError('INVALID_METADATA', `value of "${key}" exceeds ${MAX_VALUE_BYTES} bytes`);
    }
    pairs.set(key, bytes);
  }
  return pairs;
}

function text(raw: RawMetadata, key: string): string | undefined {
  const bytes = raw.get(key);
  if (bytes === undefined || bytes === null) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    throw new HaulError('INVALID_METADATA', `value of "${key}" must be valid UTF-8`);
  }
}

export const uploadMetadataSchema = z.object({
  filename: z.string().transform(sanitizeFilename).optional(),
  filetype: z
    .string()
    .max(255)
    .regex(MIME, 'must be a MIME type such as image/png')
    .transform((t) => t.toLowerCase())
    .optional(),
});

export type UploadMetadata = z.infer<typeof uploadMetadataSchema>;

/**
 * The metadata Haul understands. Uppy sends `name`/`type`, other clients `filename`/`filetype`;
 * both are accepted and must agree. Other keys are kept as opaque application fields.
 */
export function validateUploadMetadata(raw: RawMetadata): UploadMetadata {
  const pick = (primary: string, alias: string) => {
    const a = text(raw, primary);
    const b = text(raw, alias);
    if (a !== undefined && b !== undefined && a !== b) {
      throw new HaulError('INVALID_METADATA', `"${primary}" and "${alias}" disagree`);
    }
    return a ?? b;
  };
  const parsed = uploadMetadataSchema.safeParse({ filename: pick('filename', 'name'), filetype: pick('filetype', 'type') });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new HaulError('INVALID_METADATA', `${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

export type StoredMetadataValue = string | null | { base64: string };

/**
 * Metadata as stored in the database (jsonb): UTF-8 text as a string; binary values (and text
 * with NUL, which jsonb cannot hold) as `{ base64 }`, so nothing is lost or mistaken for text.
 */
export function metadataForStorage(raw: RawMetadata): Record<string, StoredMetadataValue> {
  const out: Record<string, StoredMetadataValue> = {};
  for (const [key, bytes] of raw) {
    if (bytes === null) {
      out[key] = null;
      continue;
    }
    let decoded: string | undefined;
    try {
      decoded = utf8.decode(bytes);
    } catch {
      decoded = undefined;
    }
    out[key] = decoded !== undefined && !decoded.includes('\u0000') ? decoded : { base64: bytes.toString('base64') };
  }
  return out;
}

/**
 * The inverse of metadataForStorage: an Upload-Metadata header carrying exactly the bytes the
 * client sent. `keys` gives the order (missing keys are skipped); by default the stored order.
 */
export function uploadMetadataHeader(
  stored: Record<string, StoredMetadataValue>,
  keys: Iterable<string> = Object.keys(stored),
): string {
  const pairs: string[] = [];
  for (const key of keys) {
    if (!Object.hasOwn(stored, key)) continue;
    const value = stored[key];
    if (value === null || value === undefined) pairs.push(key);
    else pairs.push(`${key} ${typeof value === 'string' ? Buffer.from(value, 'utf8').toString('base64') : value.base64}`);
  }
  return pairs.join(',');
}
