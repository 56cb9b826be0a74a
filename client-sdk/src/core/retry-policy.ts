import { HEADERS, isRetryableStatus } from '@haul/api';
import { CHECKSUM_MISMATCH_STATUS } from './checksum-http-stack.js';
import { HaulError, isHaulError, parseRetryAfter } from './errors.js';
import { RequestAbortedError } from './http-stack.js';
import { toHaulError } from './tus-error.js';

/**
 * The SDK's one retry policy. Every request it makes asks `decide` what to do when it fails:
 * uploads (tus-js-client's `onShouldRetry`, also for Uppy through `tusOptions()`), the JSON API,
 * the events stream, the OPTIONS probe and termination. The rules, in the order they apply:
 *
 * 1. Nothing to retry: the request was aborted on purpose, `getToken()` threw, or the SDK cannot
 *    use what came back → stop.
 * 2. 401: the token may just have expired → once more with a forcibly refreshed token. A request
 *    that already carried a refreshed token and is refused again → stop (the token is not the
 *    problem, and looping would hammer the token provider).
 * 3. A tus PATCH answered 404/410: the upload expired or was removed under us → at once; the retry
 *    starts with a HEAD, finds the upload gone, and tus creates a new one.
 * 4. A tus PATCH answered 460 (Checksum Mismatch: the chunk arrived corrupted and was discarded)
 *    → resend the same chunk at once (tus-js-client's retry starts with a HEAD, finds the offset
 *    unchanged and PATCHes the same bytes), at most `maxChecksumResends` times in a row; then
 *    stop: something on the way keeps altering the bytes, and resending cannot fix that.
 * 5. Other 4xx but 409 (offset race), 423 (locked) and 429 (slow down), and 501 (not implemented):
 *    the request itself is wrong → stop. This is tus's convention and @haul/api's
 *    `isRetryableStatus`, which also sets each server error code's `retryable`.
 * 6. The device is offline → wait for the connection (an outage is not the server's failure, so
 *    waiting spends no back-off).
 * 7. Too many failures in a row (`maxAttempts` retries since the last progress: tus-js-client
 *    starts its count again whenever the server's offset moved) → stop.
 * 8. `Retry-After` (429, 503, …) → wait that long, plus up to 1 s of jitter; longer than
 *    `maxRetryAfterMs` → stop at once (the error carries `retryAfterSeconds`).
 * 9. Otherwise (no response, a stall, 5xx, 409, 423, 429) → exponential back-off with jitter.
 */

/**
 * How the SDK retries what failed for a transient reason (network errors, stalls, 5xx, 409,
 * 423, 429): exponential back-off with jitter, `Retry-After` honoured, waiting while offline.
 * Attempts count failures in a row: any progress (bytes the server acknowledged) starts the
 * count again.
 *
 * @example
 * ```ts
 * import { createHaulClient, type RetryOptions } from '@haul/client';
 * const retry: RetryOptions = { maxAttempts: 20, initialDelayMs: 250, maxDelayMs: 10_000 };
 * const client = createHaulClient({ endpoint: '/files/', getToken, retry });
 * ```
 */
export interface RetryOptions {
  /** Retries in a row (failures without progress in between) before giving up. Default 10; 0 turns retrying off. */
  maxAttempts?: number;
  /** Delay before the first retry (before jitter). Default 500 ms. */
  initialDelayMs?: number;
  /** Upper bound of the exponential delay. Default 30 s. */
  maxDelayMs?: number;
  /** A `Retry-After` longer than this is not waited out: the request fails instead. Default 5 min. */
  maxRetryAfterMs?: number;
  /** A chunk answered 460 (it arrived corrupted) is sent again at most this many times in a row. Default 3. */
  maxChecksumResends?: number;
}

/** {@link RetryOptions} with every default applied. */
export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
  maxChecksumResends: number;
}

export function retryPolicy(options: RetryOptions | false | undefined): RetryPolicy {
  const o = options === false ? { maxAttempts: 0 } : (options ?? {});
  return {
    maxAttempts: Math.max(0, Math.floor(o.maxAttempts ?? 10)),
    initialDelayMs: Math.max(0, o.initialDelayMs ?? 500),
    maxDelayMs: Math.max(0, o.maxDelayMs ?? 30_000),
    maxRetryAfterMs: Math.max(0, o.maxRetryAfterMs ?? 5 * 60_000),
    maxChecksumResends: Math.max(0, Math.floor(o.maxChecksumResends ?? (options === false ? 0 : 3))),
  };
}

/**
 * Delay before retry number `attempt` (0-based): "equal jitter" — half the exponential step
 * fixed, half random — so clients that failed together do not come back together.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + random() * (step / 2));
}

/** What the policy needs to know besides the failure itself. */
export interface RetryContext {
  /** Retries already made since the last progress (0 for the first failure). */
  attempt: number;
  /** Whether the device is online (the client's `connectivity`). */
  online: boolean;
  /** The failed request carried a token refreshed because of an earlier 401. */
  tokenRefreshed: boolean;
  /** The request's method, for the tus rule that a PATCH answered 404/410 starts over. */
  method?: string;
  /** Which retries are allowed; default the client's policy. */
  policy: RetryPolicy;
  random?: () => number;
}

/** What to do about a failed request. */
export type RetryDecision =
  | { action: 'retry'; delayMs: number }
  /** Send it again now with a forcibly refreshed token. */
  | { action: 'refresh-token' }
  /** Send it again once the device is back online. */
  | { action: 'wait-online' }
  | { action: 'stop' };

/** A fetch `Response` or a tus-js-client `HttpResponse`: what came back. */
export type ResponseLike = { status: number; headers: { get(name: string): string | null } } | { getStatus(): number; getHeader(name: string): string | undefined };

/** A failure as the rules see it: the HTTP status (0: no response) and the server's `Retry-After`. */
export interface Failure {
  status: number;
  retryAfterMs: number | undefined;
  /** Nothing to retry (rule 1). */
  final: boolean;
}

const isFetchResponse = (value: object): value is { status: number; headers: { get(name: string): string | null } } =>
  typeof (value as { status?: unknown }).status === 'number' && typeof (value as { headers?: { get?: unknown } }).headers?.get === 'function';
const isTusResponse = (value: object): value is { getStatus(): number; getHeader(name: string): string | undefined } =>
  typeof (value as { getStatus?: unknown }).getStatus === 'function';

/** A response, or anything thrown while sending (a tus-js-client error, a fetch TypeError, a HaulError), as a {@link Failure}. */
export function failureOf(value: unknown): Failure {
  if (typeof value === 'object' && value !== null && !(value instanceof Error)) {
    if (isFetchResponse(value)) return { status: value.status, retryAfterMs: parseRetryAfter(value.headers.get(HEADERS.retryAfter)), final: false };
    if (isTusResponse(value)) return { status: value.getStatus(), retryAfterMs: parseRetryAfter(value.getHeader(HEADERS.retryAfter)), final: false };
  }
  let error: HaulError | undefined;
  if (isHaulError(value)) error = value;
  else if (value instanceof RequestAbortedError) error = new HaulError('ABORTED', 'aborted', { retryable: false });
  // tus-js-client's DetailedError: its response, or what made the request fail.
  else if (value instanceof Error && 'originalRequest' in value) error = toHaulError(value);
  // Anything else thrown by fetch or an HTTP stack: no response at all.
  if (!error) return { status: 0, retryAfterMs: undefined, final: false };
  const retryAfterMs = error.retryAfterSeconds === undefined ? undefined : error.retryAfterSeconds * 1000;
  return { status: error.status, retryAfterMs, final: error.status === 0 && !error.retryable };
}

/** The policy: what to do after `outcome` (a response that is not a success, or an error). */
export function decide(outcome: ResponseLike | unknown, context: RetryContext): RetryDecision {
  const { policy, attempt } = context;
  const { status, retryAfterMs, final } = failureOf(outcome);
  if (final) return { action: 'stop' };
  if (status === 401) return context.tokenRefreshed ? { action: 'stop' } : { action: 'refresh-token' };
  if ((status === 404 || status === 410) && context.method === 'PATCH') return { action: 'retry', delayMs: 0 };
  if (status === CHECKSUM_MISMATCH_STATUS && context.method === 'PATCH') {
    return attempt < policy.maxChecksumResends ? { action: 'retry', delayMs: 0 } : { action: 'stop' };
  }
  if (status !== 0 && !isRetryableStatus(status)) return { action: 'stop' };
  if (!context.online) return { action: 'wait-online' };
  if (attempt >= policy.maxAttempts) return { action: 'stop' };
  if (retryAfterMs !== undefined) {
    if (retryAfterMs > policy.maxRetryAfterMs) return { action: 'stop' };
    const jitter = Math.round((context.random ?? Math.random)() * Math.min(1000, retryAfterMs * 0.1));
    return { action: 'retry', delayMs: retryAfterMs + jitter };
  }
  return { action: 'retry', delayMs: backoffDelay(policy, attempt, context.random) };
}
