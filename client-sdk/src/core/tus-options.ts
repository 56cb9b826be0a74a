import type { DetailedError, HttpRequest } from 'tus-js-client';
import { sleep } from './abort.js';
import type { IssuedToken, TokenSource } from './auth.js';
import type { Connectivity } from './connectivity.js';
import { backoffDelay, decide, type RetryPolicy } from './retry-policy.js';

/**
 * Options of {@link HaulClient.tusOptions}.
 *
 * @example
 * ```ts
 * const options: TusOptionsRequest = { parallel: 4, throttle: { bytesPerSecond: 256 * 1024 } };
 * ```
 */
export interface TusOptionsRequest {
  /** Upload each file in this many parts at once (tus concatenation); 1 or unset: one part. */
  parallel?: number;
  /** Bytes per PATCH request. Default: the whole file (or part) in one request. */
  chunkSize?: number;
  /**
   * A simulated slow network, for demos and manual testing on localhost: small requests,
   * each delayed so the upload averages about this rate.
   */
  throttle?: { bytesPerSecond: number };
}

/**
 * What a tus-js-client based uploader (Uppy's Tus plugin, tus-js-client itself) takes from Haul:
 * the result of {@link HaulClient.tusOptions}.
 *
 * @example
 * ```ts
 * const options: HaulTusOptions = client.tusOptions({ parallel: 2 });
 * new tus.Upload(file, { ...options, metadata: { filename: file.name } }).start();
 * ```
 */
export interface HaulTusOptions {
  endpoint: string;
  retryDelays: number[];
  chunkSize?: number;
  parallelUploads?: number;
  /** Resume after a reload: the upload URL is kept (localStorage) until the upload succeeds. */
  storeFingerprintForResuming: true;
  removeFingerprintOnSuccess: true;
  onBeforeRequest: (req: HttpRequest) => Promise<void>;
  /** Paces PATCH requests when `throttle` was asked for. */
  onAfterResponse: (req: HttpRequest) => Promise<void>;
  /**
   * Haul's retry rules; Uppy passes its own default decision as `next` (it keeps Uppy's request
   * queue and rate limiting in step), which is consulted for everything but a refused token.
   */
  onShouldRetry: (error: DetailedError, attempt: number, options?: unknown, next?: (error: DetailedError) => boolean) => boolean;
}

const THROTTLED_CHUNK = 64 * 1024;

/** Builds {@link HaulTusOptions} from a client's endpoint, token source and retry policy. */
export function haulTusOptions(
  ctx: { endpoint: string; tokens: TokenSource; policy: RetryPolicy; connectivity: Connectivity },
  request: TusOptionsRequest = {},
): HaulTusOptions {
  const { endpoint, tokens, policy, connectivity } = ctx;
  const parallel = Math.max(1, Math.floor(request.parallel ?? 1));
  const rate = request.throttle?.bytesPerSecond;
  const chunkSize = rate ? Math.min(request.chunkSize ?? THROTTLED_CHUNK, Math.max(1024, Math.floor(rate / 4))) : request.chunkSize;
  // Which token generation each request carried: a 401 on a token that was already fresh is final.
  const sentWith = new WeakMap<HttpRequest, IssuedToken>();

  return {
    endpoint,
    // tus-js-client counts attempts from the last progress on; delays are drawn once (with jitter).
    retryDelays: Array.from({ length: policy.maxAttempts }, (_, attempt) => backoffDelay(policy, attempt)),
    ...(chunkSize ? { chunkSize } : {}),
    ...(parallel > 1 ? { parallelUploads: parallel } : {}),
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    async onBeforeRequest(req) {
      sentWith.set(req, await tokens.authorize((name, value) => req.setHeader(name, value)));
    },
    // The pause comes after a PATCH's answer, not before the request: an upload paused while
    // waiting then has no request half-made (aborting one that was opened but not sent makes
    // browsers send it bare). Parallel parts share the rate.
    async onAfterResponse(req) {
      if (rate && chunkSize && req.getMethod() === 'PATCH') await sleep(((chunkSize * parallel) / rate) * 1000);
    },
    onShouldRetry(error, attempt, _options, next) {
      const sent = error.originalRequest ? sentWith.get(error.originalRequest) : undefined;
      const decision = decide(error, { attempt, online: connectivity.isOnline(), tokenRefreshed: sent?.forced ?? true, method: error.originalRequest?.getMethod(), policy });
      if (decision.action === 'stop') return false;
      if (decision.action === 'refresh-token') {
        if (sent) tokens.refused(sent);
        return true;
      }
      return next ? next(error) : true;
    },
  };
}
