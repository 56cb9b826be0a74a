import type { IncomingMessage } from 'node:http';
import { HaulError } from '../errors.js';
import { isUploadId } from '../uploads/upload-id.js';
import { TUS_PATH } from '@haul/api';

export type UploadConcat = { kind: 'partial' } | { kind: 'final'; partialIds: string[] };

/**
 * Parses Upload-Concat. tus 1.0: "If the Upload-Concat header is present, its value MUST be
 * either `partial` or `final;{urls}` … The urls MUST be separated by a space character and MAY
 * be either absolute or relative URLs." Each URL must name an upload on this endpoint.
 */
export function parseUploadConcat(header: string | undefined, { maxPartials }: { maxPartials: number }): UploadConcat | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === 'partial') return { kind: 'partial' };
  if (!value.startsWith('final;')) throw new HaulError('INVALID_CONCAT', 'Upload-Concat must be "partial" or "final;<url> <url> …"');
  const urls = value.slice('final;'.length).trim().split(/ +/).filter(Boolean);
  if (urls.length === 0) throw new HaulError('INVALID_CONCAT', 'Upload-Concat: final lists no partial uploads');
  if (urls.length > maxPartials) {
    throw new HaulError('TOO_MANY_PARTIALS', `A final upload may list at most ${maxPartials} partial uploads`);
  }
  return { kind: 'final', partialIds: urls.map(uploadIdFromUrl) };
}

function uploadIdFromUrl(url: string): string {
  let pathname: string;
  try {
    pathname = new URL(url, 'http://relative.invalid').pathname;
  } catch {
    throw new HaulError('INVALID_CONCAT', `Upload-Concat: "${url.slice(0, 100)}" is not a URL`);
  }
  const match = new RegExp(`^${TUS_PATH}/([^/]+)/?$`).exec(pathname);
  if (!match || !isUploadId(match[1]!)) {
    throw new HaulError('INVALID_CONCAT', `Upload-Concat: "${url.slice(0, 100)}" is not an upload URL of this server`);
  }
  return match[1]!;
}

/** The HEAD value for a final upload: its partials as relative URLs. */
export const finalConcatHeader = (partialIds: readonly string[]) =>
  `final;${partialIds.map((id) => `${TUS_PATH}/${id}`).join(' ')}`;

/**
 * Hides Upload-Concat: partial from @tus/server, which answers 501 to any Upload-Concat (it has
 * no Concatenation support). A partial is created like any upload; Haul records its role.
 */
export function removeUploadConcatHeader(incoming: IncomingMessage): void {
  delete incoming.headers['upload-concat'];
  const raw = incoming.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    if (raw[i]!.toLowerCase() === 'upload-concat') raw.splice(i, 2);
  }
}
