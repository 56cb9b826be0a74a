import { HEADERS } from '@haul/api';
import type { StorageCapabilities } from '../storage/storage.js';
import {
  PREFLIGHT_MAX_AGE_SECONDS, TUS_METHODS, TUS_REQUEST_HEADERS, TUS_VERSIONS, tusExtensions,
} from './protocol.js';
import { CHECKSUM_ALGORITHMS } from './checksum.js';
import type { TusResponse } from './request-context.js';

/**
 * OPTIONS: capability discovery, and the CORS preflight of browser clients (no token needed;
 * the CORS middleware adds Access-Control-Allow-Origin for allowed origins). The answer is the
 * same for every request, so it is built once.
 *
 * tus 1.0: "A successful response indicated by the 204 No Content or 200 OK status MUST contain
 * the Tus-Version header. It MAY include the Tus-Extension and Tus-Max-Size headers." and "The
 * Client SHOULD NOT include the Tus-Resumable header in the request and the Server MUST ignore
 * the header."
 */
export function createOptionsHandler({ maxSize, capabilities }: { maxSize: number; capabilities: StorageCapabilities }) {
  const headers: Record<string, string> = {
    'Tus-Version': TUS_VERSIONS.join(','),
    'Tus-Extension': tusExtensions(capabilities).join(','),
    // tus 1.0: "The Server SHOULD set this header if there is a known hard limit."
    'Tus-Max-Size': String(maxSize),
    // tus checksum: "The Tus-Checksum-Algorithm response header MUST be a comma-separated list of
    // the checksum algorithms supported by the server."
    [HEADERS.tusChecksumAlgorithm]: CHECKSUM_ALGORITHMS.join(','),
    'Access-Control-Allow-Methods': TUS_METHODS.join(', '),
    'Access-Control-Allow-Headers': TUS_REQUEST_HEADERS.join(', '),
    'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_SECONDS),
  };
  return function options(): TusResponse {
    return { status: 204, headers: { ...headers } };
  };
}
