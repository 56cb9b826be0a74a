import { HaulError, isHaulError } from './errors.js';

/** Waiting that an AbortSignal can end: sleeps, races, and the error an abort turns into. */

/** Resolves after `ms`, or rejects with the signal's reason when it aborts. */
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

/** `promise`, or the signal's reason as soon as it aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // The loser's rejection (an aborted fetch) is expected: keep it from surfacing as unhandled.
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** What an aborted wait rejects with: the signal's HaulError reason (a timeout), else `ABORTED`. */
export function abortError(signal: AbortSignal | undefined): HaulError {
  const reason: unknown = signal?.reason;
  return isHaulError(reason) ? reason : new HaulError('ABORTED', 'aborted', { cause: reason, retryable: false });
}

/**
 * A signal that aborts with `outer`, after `timeoutMs` (reason: `onTimeout()`), or when `abort`
 * is called; `dispose` releases the timer and the listener on `outer`.
 */
export function deadline(
  outer: AbortSignal | undefined,
  timeoutMs: number | undefined,
  onTimeout: () => HaulError,
): { signal: AbortSignal; abort: (reason: unknown) => void; dispose: () => void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) onAbort();
  else outer?.addEventListener('abort', onAbort, { once: true });
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(onTimeout()), timeoutMs);
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    dispose: () => {
      if (timer !== undefined) clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    },
  };
}
