import type { UploadOptions } from 'tus-js-client';
import { sleep } from './abort.js';
import { CHECKSUM_CHUNK_SIZE } from './checksum-http-stack.js';
import { createTusHooks, type GivenTusOptions, type ShouldRetry, type TusHooksDeps } from './tus-hooks.js';

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
  /** Bytes per PATCH request. Default: the whole file (or part) in one request; 8 MiB with checksums on (the client's `checksum`). */
  chunkSize?: number;
  /**
   * A simulated slow network, for demos and manual testing on localhost: small requests,
   * each delayed so the upload averages about this rate.
   */
  throttle?: { bytesPerSecond: number };
}

/** The tus-js-client options Haul sets, with tus-js-client's own types. */
type HaulSetTusOptions = 'endpoint' | 'retryDelays' | 'httpStack' | 'onBeforeRequest' | 'onAfterResponse' | 'storeFingerprintForResuming' | 'removeFingerprintOnSuccess';

/**
 * What a tus-js-client based uploader (Uppy's Tus plugin, tus-js-client itself) takes from Haul:
 * the result of {@link HaulClient.tusOptions}. Every key is tus-js-client's option of that name;
 * `onShouldRetry` also takes Uppy's `next` (its default decision, which keeps Uppy's request
 * queue in step: requeueing, pausing while offline, pacing after a 429).
 *
 * @example
 * ```ts
 * const options: HaulTusOptions = client.tusOptions({ parallel: 2 });
 * new tus.Upload(file, { ...options, metadata: { filename: file.name } }).start();
 * ```
 */
export type HaulTusOptions = GivenTusOptions<HaulSetTusOptions> & Pick<UploadOptions, 'chunkSize' | 'parallelUploads'> & { onShouldRetry: ShouldRetry };

const THROTTLED_CHUNK = 64 * 1024;

/**
 * Builds {@link HaulTusOptions}: the same tus hooks as the SDK's own uploads (the retry policy
 * with Retry-After and offline waiting, token refresh, the guarded HTTP stack), plus resuming
 * across reloads, parallel parts and the optional throttle.
 */
export function haulTusOptions(ctx: TusHooksDeps & { endpoint: string }, request: TusOptionsRequest = {}): HaulTusOptions {
  const parallel = Math.max(1, Math.floor(request.parallel ?? 1));
  const rate = request.throttle?.bytesPerSecond;
  const chunkSize = rate
    ? Math.min(request.chunkSize ?? THROTTLED_CHUNK, Math.max(1024, Math.floor(rate / 4)))
    : (request.chunkSize ?? (ctx.sha256 ? CHECKSUM_CHUNK_SIZE : undefined));
  return {
    endpoint: ctx.endpoint,
    ...createTusHooks(ctx),
    ...(chunkSize ? { chunkSize } : {}),
    ...(parallel > 1 ? { parallelUploads: parallel } : {}),
    // Resume after a reload: the upload URL is kept (localStorage) until the upload succeeds.
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    // The pause comes after a PATCH's answer, not before the request: an upload paused while
    // waiting then has no request half-made. Parallel parts share the rate.
    async onAfterResponse(req) {
      if (rate && chunkSize && req.getMethod() === 'PATCH') await sleep(((chunkSize * parallel) / rate) * 1000);
    },
  };
}
