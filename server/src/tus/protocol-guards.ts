import type { IncomingMessage } from 'node:http';
import { HaulError } from '../errors.js';
import { checksumSourceOf } from './checksum.js';
import { OFFSET_OCTET_STREAM, TUS_VERSIONS } from './protocol.js';

const OVERRIDABLE = new Set(['HEAD', 'PATCH', 'DELETE', 'GET', 'POST', 'OPTIONS']);

/**
 * tus 1.0: "The X-HTTP-Method-Override request header MUST be a string which MUST be interpreted
 * as the request's method by the Server, if the header is presented." It exists for environments
 * that can only send GET and POST, so only those may be overridden. Rewrites `incoming.method`,
 * which the tus route dispatches on.
 */
export function applyMethodOverride(incoming: IncomingMessage): void {
  const header = incoming.headers['x-http-method-override'];
  if (typeof header !== 'string' || (incoming.method !== 'POST' && incoming.method !== 'GET')) return;
  const method = header.trim().toUpperCase();
  if (!OVERRIDABLE.has(method)) {
    throw new HaulError('METHOD_NOT_ALLOWED', `X-HTTP-Method-Override: unsupported method "${header.slice(0, 20)}"`);
  }
  incoming.method = method;
}

/**
 * tus 1.0: "The Tus-Resumable header MUST be included in every request and response except for
 * OPTIONS requests." and "If the Client's Tus-Resumable version is not supported by the Server,
 * the Server MUST respond with 412 Precondition Failed and MUST include the Tus-Version header.
 * In addition, the Server MUST NOT process the request."
 */
export function checkTusResumable(value: string | undefined): void {
  if (value !== undefined && TUS_VERSIONS.includes(value.trim())) return;
  throw new HaulError(
    'UNSUPPORTED_VERSION',
    value === undefined ? 'Tus-Resumable header required' : `Tus-Resumable ${value.slice(0, 20)} is not supported`,
    { headers: { 'Tus-Version': TUS_VERSIONS.join(',') } },
  );
}

/**
 * The origin clients reach us at, for Location: the Host header, or with TRUST_PROXY the
 * Forwarded / X-Forwarded-* headers a reverse proxy sets.
 */
export function publicOrigin(req: Request, trustProxy: boolean): string {
  const headers = req.headers;
  let proto: string | undefined;
  let host: string | undefined;
  if (trustProxy) {
    const forwarded = headers.get('forwarded');
    host = (forwarded && /host="?([^";,]+)/.exec(forwarded)?.[1]) || headers.get('x-forwarded-host') || undefined;
    proto = (forwarded && /proto=(https?)/.exec(forwarded)?.[1]) || headers.get('x-forwarded-proto') || undefined;
  }
  host ??= headers.get('host') ?? new URL(req.url).host;
  proto = proto === 'https' ? 'https' : 'http';
  return `${proto}://${host}`;
}

const NON_NEGATIVE_INTEGER = /^(?:0|[1-9][0-9]*)$/;

/**
 * The syntax of every tus request header, checked before any handler runs (tus 1.0:
 * Upload-Offset and Upload-Length "MUST be a non-negative integer", Upload-Defer-Length "MUST
 * be 1", "All PATCH requests MUST use Content-Type: application/offset+octet-stream").
 */
export function checkTusHeaders(method: string, header: (name: string) => string | undefined): void {
  const integer = (value: string) => NON_NEGATIVE_INTEGER.test(value) && Number.isSafeInteger(Number(value));
  const length = header('upload-length');
  if (length !== undefined && !integer(length)) {
    throw new HaulError('INVALID_UPLOAD_LENGTH', 'Upload-Length must be a non-negative integer');
  }
  const defer = header('upload-defer-length');
  if (defer !== undefined && defer !== '1') throw new HaulError('INVALID_UPLOAD_LENGTH', 'Upload-Defer-Length must be 1');
  const offset = header('upload-offset');
  if (offset !== undefined && !integer(offset)) throw new HaulError('INVALID_HEADER', 'Upload-Offset must be a non-negative integer');
  // On POST, Upload-Concat is parsed more strictly by the concatenation module (concatenation.ts).
  const concat = method === 'POST' ? undefined : header('upload-concat');
  if (concat !== undefined && concat !== 'partial' && !concat.startsWith('final;')) {
    throw new HaulError('INVALID_CONCAT', 'Upload-Concat must be "partial" or "final;<urls>"');
  }
  const version = header('tus-version');
  if (version !== undefined && !TUS_VERSIONS.includes(version)) throw new HaulError('INVALID_HEADER', `Tus-Version ${version.slice(0, 20)} is not supported`);
  const proto = header('x-forwarded-proto');
  if (proto !== undefined && proto !== 'http' && proto !== 'https') {
    throw new HaulError('INVALID_HEADER', 'X-Forwarded-Proto must be http or https');
  }
  if (method === 'PATCH' && header('content-type') !== OFFSET_OCTET_STREAM) throw new HaulError('INVALID_CONTENT_TYPE');
  // tus checksum: "400 Bad Request if the checksum algorithm is not supported by the server" —
  // refused here, before any byte of the body is read or the upload touched (a malformed value
  // too). A checksum sent as a trailer can only be checked after the body (checksum.ts).
  if (method === 'PATCH' || method === 'POST') checksumSourceOf(header);
}
