/**
 * How the SDK retries what failed for a transient reason (network errors, stalls, 5xx, 409,
 * 423, 429): exponential back-off with jitter, `Retry-After` honoured. Attempts count failures
 * in a row: any progress (bytes the server acknowledged) starts the count again.
 *
 * @example
 * ```ts
 * import { createHaulClient, type RetryOptions } from '@haul/client';
 * const retry: RetryOptions = { maxAttempts: 20, initialDelayMs: 250, maxDelayMs: 10_000 };
 * const client = createHaulClient({ endpoint: '/files/', getToken, retry });
 * ```
 */
export interface RetryOptions {
  /** Failed attempts in a row before giving up. Default 10; 0 turns retrying off. */
  maxAttempts?: number;
  /** Delay before the first retry (before jitter). Default 500 ms. */
  initialDelayMs?: number;
  /** Upper bound of the exponential delay. Default 30 s. */
  maxDelayMs?: number;
  /** A `Retry-After` longer than this is not waited out: the request fails instead. Default 5 min. */
  maxRetryAfterMs?: number;
}

export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
}

export function retryPolicy(options: RetryOptions | false | undefined): RetryPolicy {
  const o = options === false ? { maxAttempts: 0 } : (options ?? {});
  return {
    maxAttempts: Math.max(0, Math.floor(o.maxAttempts ?? 10)),
    initialDelayMs: Math.max(0, o.initialDelayMs ?? 500),
    maxDelayMs: Math.max(0, o.maxDelayMs ?? 30_000),
    maxRetryAfterMs: Math.max(0, o.maxRetryAfterMs ?? 5 * 60_000),
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

/** Resolves after `ms`, or rejects when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
