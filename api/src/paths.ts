/**
 * Where things are: the tus endpoint, the JSON API's routes, and the headers the server and its
 * clients agree on. The server's routes and the links it hands out, and the SDK's requests, are
 * all spelled from these.
 */

/** The upload endpoint (tus, and the IETF resumable-upload draft): POST here, then HEAD/PATCH/DELETE `/files/<id>`. */
export const TUS_PATH = '/files';
export const TUS_RESUMABLE = '1.0.0';

export const API_PATHS = {
  config: '/api/config',
  devToken: '/api/dev/token',
  uploads: '/api/uploads',
  /** The OpenAPI 3.1 document of this API, and its readable reference page. */
  openapi: '/api/openapi.json',
  docs: '/api/docs',
  /** `GET`: the caller's storage use against their quota. */
  usage: '/api/usage',
  /** `DELETE /api/users/me` (the caller) or `/api/users/<id>` (a service): erase everything of a user. */
  users: '/api/users',
} as const;

/** `GET` one upload's record, `PATCH` its scope, `DELETE` it. */
export const uploadApiPath = (id: string) => `${API_PATHS.uploads}/${encodeURIComponent(id)}`;
/** Server-Sent Events of one upload's status until a terminal status. */
export const uploadEventsPath = (id: string) => `${uploadApiPath(id)}/events`;
export const thumbnailPath = (id: string, size: number) => `${uploadApiPath(id)}/thumbnails/${size}`;
export const contentPath = (id: string) => `${uploadApiPath(id)}/content`;
/** `POST`: a signed, expiring download link. */
export const linksPath = (id: string) => `${uploadApiPath(id)}/links`;
/** A shared link's path (the signature is the server's business). */
export const sharedLinkPath = (id: string, expires: number | string, signature: string) =>
  `/api/links/${encodeURIComponent(id)}/${expires}/${signature}`;

/** Response headers of the request that completes an upload: where to follow what processing makes of it. */
export const HEADERS = {
  haulUpload: 'Haul-Upload',
  haulUploadEvents: 'Haul-Upload-Events',
  requestId: 'X-Request-Id',
  /** On a 413 QUOTA_EXCEEDED: the bytes the user may still store. */
  quotaRemaining: 'Haul-Quota-Remaining',
  retryAfter: 'Retry-After',
  tusResumable: 'Tus-Resumable',
  uploadExpires: 'Upload-Expires',
  /** tus checksum extension: `<algorithm> <base64 digest>` of a PATCH body (or its trailer). */
  uploadChecksum: 'Upload-Checksum',
  /** tus checksum extension: the algorithms the server verifies (OPTIONS). */
  tusChecksumAlgorithm: 'Tus-Checksum-Algorithm',
} as const;

/** The values of `Haul-Upload` and `Haul-Upload-Events` for an upload. */
export const haulUploadHeaders = (id: string): Record<string, string> => ({
  [HEADERS.haulUpload]: uploadApiPath(id),
  [HEADERS.haulUploadEvents]: uploadEventsPath(id),
});
