import { HEADERS, TUS_RESUMABLE } from '@haul/api';
import type { HaulApi } from './api.js';
import type { HttpClient } from './http-client.js';
import { encodeUploadMetadata, supportsConcatenation } from './parallel.js';

/**
 * The tus requests the SDK sends itself, outside tus-js-client: the OPTIONS probe for
 * concatenation, HEAD of a final upload remembered from an earlier run, and termination. Each
 * goes through the SDK's HTTP client, so the retry policy and the bearer token apply as they do
 * everywhere else.
 */

/** tus 1.0 header names (the protocol's; Haul's own are @haul/api's HEADERS). */
export const TUS_HEADERS = {
  extension: 'Tus-Extension',
  uploadOffset: 'Upload-Offset',
  uploadLength: 'Upload-Length',
  uploadConcat: 'Upload-Concat',
  location: 'Location',
} as const;

/** Termination is awaited by `abort()`: a couple of retries, not the policy's full patience. */
const TERMINATION_RETRIES = 2;
/** The OPTIONS probe decides single stream or parallel: worth a couple of retries, not more. */
const PROBE_RETRIES = 2;

const tusHeaders = { [HEADERS.tusResumable]: TUS_RESUMABLE };

/** The last path segment of a URL (an upload id), decoded. */
export const lastSegment = (url: string): string => {
  const path = url.split(/[?#]/)[0]!.replace(/\/+$/, '');
  return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
};

export interface TusEndpoint {
  /** Whether the endpoint advertises tus concatenation (OPTIONS; remembered once answered). */
  supportsConcatenation(): Promise<boolean>;
  /**
   * tus `concatenation-unfinished`: when the endpoint advertises it, POSTs the final upload of
   * `partialUrls` (in order) while they are still uploading, so the server assembles it the
   * moment the last byte lands. Best effort, never rejects: without it (or if it fails) the
   * final upload is created after the partials, as tus-js-client does anyway — and Haul answers
   * that request with the final upload created here. Resolves with the final upload's URL, or
   * null when none was created.
   */
  createFinalEarly?(partialUrls: readonly string[], metadata: Readonly<Record<string, string>>): Promise<string | null>;
  /** HEAD: is the upload at `url` complete? False when it cannot be told. */
  isComplete(url: string): Promise<boolean>;
  /** HEAD: the bytes the server holds of the upload at `url`; null when it cannot be told (gone, no answer). */
  offset(url: string): Promise<number | null>;
  /** DELETE (tus termination) of one upload URL; an upload already gone counts as done. Never rejects. */
  terminate(url: string): Promise<void>;
}

export function createTusEndpoint({ endpoint, http, api }: { endpoint: string; http: HttpClient; api: HaulApi }): TusEndpoint {
  /** The endpoint's Tus-Extension (null: it answered without one, or not successfully). */
  let extensions: Promise<string | null> | undefined;
  const probe = () => {
    extensions ??= http.send(endpoint, { method: 'OPTIONS', headers: tusHeaders }, { maxRetries: PROBE_RETRIES, anonymous: true }).then(
      ({ response }) => {
        if (response.status >= 500) extensions = undefined; // the server is unwell: ask again next time
        return response.ok ? response.headers.get(TUS_HEADERS.extension) : null;
      },
      () => {
        extensions = undefined; // no answer: not remembered, ask again next time
        return null;
      },
    );
    return extensions;
  };
  return {
    async supportsConcatenation() {
      return supportsConcatenation(await probe());
    },

    async createFinalEarly(partialUrls, metadata) {
      try {
        if (!supportsConcatenation(await probe(), 'concatenation-unfinished')) return null;
        const encoded = encodeUploadMetadata(metadata);
        const { response } = await http.send(endpoint, {
          method: 'POST',
          headers: { ...tusHeaders, [TUS_HEADERS.uploadConcat]: `final;${partialUrls.join(' ')}`, ...(encoded ? { 'Upload-Metadata': encoded } : {}) },
        }, { maxRetries: PROBE_RETRIES });
        const location = response.ok ? response.headers.get(TUS_HEADERS.location) : null;
        return location ? new URL(location, endpoint).toString() : null;
      } catch {
        // Best effort: tus-js-client creates the final upload once the partials are done.
        return null;
      }
    },

    async isComplete(url) {
      try {
        const { response } = await http.send(url, { method: 'HEAD', headers: tusHeaders });
        const offset = response.headers.get(TUS_HEADERS.uploadOffset);
        return response.ok && offset !== null && offset === response.headers.get(TUS_HEADERS.uploadLength);
      } catch {
        return false;
      }
    },

    async offset(url) {
      try {
        const { response } = await http.send(url, { method: 'HEAD', headers: tusHeaders });
        const offset = Number.parseInt(response.headers.get(TUS_HEADERS.uploadOffset) ?? '', 10);
        return response.ok && Number.isFinite(offset) ? offset : null;
      } catch {
        return null;
      }
    },

    async terminate(url) {
      try {
        const { response } = await http.send(url, { method: 'DELETE', headers: tusHeaders }, { maxRetries: TERMINATION_RETRIES });
        // "Upon receiving a DELETE request, the Server SHOULD free associated resources […] the
        // Server SHOULD respond with the 404 Not Found or 410 Gone status" for later requests.
        if (response.ok || response.status === 404 || response.status === 410) return;
        // Already complete (a final upload): tus refuses termination; the files API deletes it.
        if (response.status === 400) await api.delete(lastSegment(url)).catch(() => {});
      } catch {
        // Best effort: an upload left behind expires on the server.
      }
    },
  };
}
