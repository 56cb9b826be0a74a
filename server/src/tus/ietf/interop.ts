import { HaulError } from '../../errors.js';

/**
 * The wire vocabulary of the IETF resumable-upload draft (draft-ietf-httpbis-resumable-upload)
 * at the interop versions Haul speaks: 6 (drafts -04 and -05: iOS 18.1+'s URLSession,
 * tus-js-client `protocol: 'ietf-draft-05'`) and 8 (drafts -09 to -11). A request names its
 * version in `Upload-Draft-Interop-Version`; that header is what tells it apart from tus.
 */

export const INTEROP_VERSIONS = [6, 8] as const;
export type InteropVersion = (typeof INTEROP_VERSIONS)[number];

/** The media type of an append's body: "a contiguous block from the representation data". */
export const PARTIAL_UPLOAD = 'application/partial-upload';

/** Problem types (RFC 9457) the draft registers. */
export const PROBLEM_TYPES = {
  mismatchingOffset: 'https://iana.org/assignments/http-problem-types#mismatching-upload-offset',
  inconsistentLength: 'https://iana.org/assignments/http-problem-types#inconsistent-upload-length',
  completedUpload: 'https://iana.org/assignments/http-problem-types#completed-upload',
} as const;

/**
 * "Client implementations of draft versions of the protocol MUST send a header field
 * Upload-Draft-Interop-Version with the interop version as its value". A version we do not
 * speak is refused rather than guessed at: the versions differ on the wire.
 */
export function parseInteropVersion(value: string): InteropVersion {
  const version = Number(value.trim());
  const known = INTEROP_VERSIONS.find((v) => v === version);
  if (known === undefined) {
    throw new HaulError('UNSUPPORTED_INTEROP_VERSION', `Upload-Draft-Interop-Version ${value.slice(0, 10)} is not supported; this server speaks ${INTEROP_VERSIONS.join(' and ')}`);
  }
  return known;
}

/**
 * An Item Structured Header (RFC 9651) holding a non-negative Integer: Upload-Offset and
 * Upload-Length. "Other values MUST cause the entire header field to be ignored." — so an
 * invalid value reads as absent.
 */
export function sfNonNegativeInteger(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*([0-9]{1,15})\s*(?:;.*)?$/.exec(value);
  return match ? Number(match[1]) : undefined;
}

/** An Item Structured Header holding a Boolean (`?1`/`?0`): Upload-Complete. Other values read as absent. */
export function sfBoolean(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*\?([01])\s*(?:;.*)?$/.exec(value);
  return match ? match[1] === '1' : undefined;
}

/** The Upload-Complete of every creation and append: "The request MUST include the Upload-Complete header field." */
export function requireUploadComplete(header: (name: string) => string | undefined): boolean {
  const complete = sfBoolean(header('upload-complete'));
  if (complete === undefined) throw new HaulError('INVALID_HEADER', 'Upload-Complete must be ?0 or ?1');
  return complete;
}

export const completeHeader = (complete: boolean) => ({ 'Upload-Complete': complete ? '?1' : '?0' });

/**
 * Upload-Limit, a Dictionary Structured Header: `max-size` and `min-size` always; the upload
 * resource's remaining lifetime once it exists. Interop 6 (drafts -04/-05) calls that lifetime
 * `expires`; draft -06 renamed it `max-age` ("Rename expires limit to max-age").
 */
export function uploadLimit(version: InteropVersion, { maxSize, lifetimeSeconds }: { maxSize: number; lifetimeSeconds?: number }): string {
  const limits = [`max-size=${maxSize}`, 'min-size=0'];
  if (lifetimeSeconds !== undefined) limits.push(`${version === 6 ? 'expires' : 'max-age'}=${Math.max(0, Math.floor(lifetimeSeconds))}`);
  return limits.join(', ');
}

/** Seconds an unfinished upload has left before it expires (undefined: it does not expire). */
export const secondsLeft = (expiresAt: Date | null, now = Date.now()) =>
  expiresAt === null ? undefined : (expiresAt.getTime() - now) / 1000;
