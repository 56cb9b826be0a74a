import { parseUploadMetadata, type RawMetadata } from '../../uploads/metadata.js';

/**
 * What an IETF upload creation says about its representation, as the tus metadata Haul keeps
 * for every upload (so validation, the files API and processing see one shape): the draft's
 * "The Content-Type header field indicates the media type of the representation" and "The
 * Content-Disposition header field can be used to transmit a filename" become `filetype` and
 * `filename`. A client that speaks both protocols (tus-js-client) may send tus's
 * Upload-Metadata instead; it then wins, and carries application fields such as `scope`.
 */
export function representationMetadata(header: (name: string) => string | undefined): { raw: RawMetadata; header: string | undefined } {
  const uploadMetadata = header('upload-metadata');
  if (uploadMetadata !== undefined) return { raw: parseUploadMetadata(uploadMetadata), header: uploadMetadata };
  const raw: RawMetadata = new Map();
  const filename = dispositionFilename(header('content-disposition'));
  if (filename !== undefined) raw.set('filename', Buffer.from(filename, 'utf8'));
  const type = header('content-type')?.split(';')[0]?.trim().toLowerCase();
  // An empty creation request may carry the append media type; it says nothing about the file.
  if (type && type !== 'application/partial-upload' && type !== 'application/octet-stream') raw.set('filetype', Buffer.from(type, 'utf8'));
  const pairs = [...raw].map(([key, value]) => `${key} ${value!.toString('base64')}`);
  return { raw, header: pairs.length > 0 ? pairs.join(',') : undefined };
}

/**
 * The filename of a Content-Disposition (RFC 6266): `filename*` (RFC 8187, UTF-8) when present,
 * else `filename` (a token or quoted-string). Undefined when there is none or it cannot be read;
 * the metadata validation then judges the name like any tus filename.
 */
export function dispositionFilename(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const extended = /(?:^|;)\s*filename\*\s*=\s*([^;]+)/i.exec(value)?.[1]?.trim();
  if (extended) {
    const match = /^utf-8'[^']*'(.*)$/i.exec(extended);
    if (match) {
      try {
        return decodeURIComponent(match[1]!);
      } catch {
        // Malformed percent-encoding: fall back to the plain parameter.
      }
    }
  }
  const plain = /(?:^|;)\s*filename\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]+)/i.exec(value)?.[1];
  if (plain === undefined) return undefined;
  return plain.startsWith('"') ? plain.slice(1, -1).replace(/\\(.)/g, '$1') : plain;
}
