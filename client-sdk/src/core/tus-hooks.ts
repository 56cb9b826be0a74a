import type { DetailedError, HttpRequest, HttpStack, UploadOptions } from 'tus-js-client';
import type { IssuedToken, TokenSource } from './auth.js';
import { type Connectivity, untilOnline } from './connectivity.js';
import { ChecksumHttpStack, type Sha256 } from './checksum-http-stack.js';
import { GuardedHttpStack, GuardedRequest } from './http-stack.js';
import { backoffDelay, decide, type RetryDecision, type RetryPolicy } from './retry-policy.js';
import { TUS_HEADERS } from './tus-endpoint.js';

/**
 * The hooks every tus-js-client upload of this SDK runs with — its own uploads and, through
 * `tusOptions()`, Uppy's: the guarded HTTP stack (stalls, aborts, HEAD errors; the place for
 * per-request work such as checksums), the connectivity gate and the bearer token before each
 * request, and the retry policy's decision after each failure, with the delay it chose.
 */

/**
 * tus-js-client's `onShouldRetry`, as Uppy's Tus plugin calls it too: Uppy passes its own
 * options and its default decision as `next`, which keeps its request queue in step.
 */
export type ShouldRetry = (error: DetailedError, retryAttempt: number, options?: unknown, next?: (error: DetailedError) => boolean) => boolean;

/** tus-js-client's options `K`, with tus-js-client's types, given (neither undefined nor null). */
export type GivenTusOptions<K extends keyof UploadOptions> = { [P in K]-?: NonNullable<UploadOptions[P]> };

export type TusHooks = GivenTusOptions<'httpStack' | 'retryDelays' | 'onBeforeRequest'> & { onShouldRetry: ShouldRetry };

export interface TusHooksDeps {
  tokens: TokenSource;
  policy: RetryPolicy;
  connectivity: Connectivity;
  /** tus-js-client's own HTTP stack for this platform: the guard wraps it. */
  httpStack: HttpStack;
  /** 0 turns stall detection off. */
  stallTimeoutMs: number;
  /** Checksums every PATCH body (checksum-http-stack.ts); null: off. */
  sha256: Sha256 | null;
}

/** A retry the policy decided: what failed, the decision and the delay tus-js-client waits. */
export interface TusRetry {
  error: DetailedError;
  attempt: number;
  decision: Exclude<RetryDecision, { action: 'stop' }>;
  delayMs: number;
}

export interface TusHookEvents {
  /** Asked first: true means "do not retry" whatever the policy says (the upload was paused or stopped). */
  giveUp?(): boolean;
  onRetry?(retry: TusRetry): void;
  /** Before each request is sent, with its token on. */
  onRequest?(req: HttpRequest): void;
}

/**
 * tus-js-client reads `retryDelays[attempt]` synchronously right after `onShouldRetry` said yes
 * (and Uppy reads it inside `next` to pace its queue after a 429): each element is a getter
 * returning the delay the policy decided in this synchronous turn, else its index's back-off
 * (tus-js-client's static `terminate` slices the array).
 */
function delayTable(policy: RetryPolicy, decided: () => number | undefined): number[] {
  const delays = new Array<number>(policy.maxAttempts).fill(0);
  for (let i = 0; i < delays.length; i++) {
    Object.defineProperty(delays, i, { get: () => decided() ?? backoffDelay(policy, i), enumerable: true, configurable: true });
  }
  return delays;
}

const isParallelParent = (options: unknown): boolean =>
  typeof options === 'object' && options !== null && ((options as UploadOptions).parallelUploads ?? 1) > 1;
const isFinalConcatenation = (request: HttpRequest | undefined): boolean =>
  request?.getMethod() === 'POST' && (request.getHeader(TUS_HEADERS.uploadConcat)?.startsWith('final') ?? false);

export function createTusHooks(deps: TusHooksDeps, events: TusHookEvents = {}): TusHooks {
  const { tokens, policy, connectivity } = deps;
  /** The token each request carried: a 401 on a token refreshed already is final. */
  const issuedFor = new WeakMap<HttpRequest, IssuedToken>();
  let decided: number | undefined;

  const authorize = async (req: HttpRequest): Promise<IssuedToken> => {
    const issued = await tokens.authorize((name, value) => req.setHeader(name, value));
    issuedFor.set(req, issued);
    return issued;
  };

  // The checksum sits under the guard: a request sent again after a 401 is checksummed again.
  const platformStack = deps.sha256 ? new ChecksumHttpStack(deps.httpStack, deps.sha256) : deps.httpStack;
  const httpStack = new GuardedHttpStack(platformStack, {
    stallTimeoutMs: deps.stallTimeoutMs,
    async retryUnauthorized(req, response) {
      const issued = issuedFor.get(req);
      if (!issued) return false;
      const decision = decide(response, { attempt: 0, online: connectivity.isOnline(), tokenRefreshed: issued.forced, policy });
      if (decision.action !== 'refresh-token') return false;
      tokens.refused(issued);
      return (await authorize(req)).token !== null;
    },
  });

  return {
    httpStack,
    retryDelays: delayTable(policy, () => decided),

    async onBeforeRequest(req) {
      // Offline: the request waits for the connection instead of failing (pause and abort end the wait).
      await untilOnline(connectivity, req instanceof GuardedRequest ? req.signal : undefined);
      await authorize(req);
      events.onRequest?.(req);
    },

    onShouldRetry(error, attempt, options, next) {
      if (events.giveUp?.()) return false;
      const request = error.originalRequest as HttpRequest | undefined;
      // A parallel upload's parent sends only the final POST; a partial's error reaching it means
      // that partial gave up (partials retry themselves). Plain tus-js-client passes the asking
      // upload's options; Uppy passes its own (with `next`), where the parent cannot be told
      // apart: there a partial that gave up restarts the parent, which resumes every partial.
      if (!next && isParallelParent(options) && !isFinalConcatenation(request)) return false;
      const issued = request ? issuedFor.get(request) : undefined;
      const decision = decide(error, {
        attempt,
        online: connectivity.isOnline(),
        // A request whose token we did not put on (an app's own onBeforeRequest): no refresh loop.
        tokenRefreshed: issued?.forced ?? true,
        method: request?.getMethod(),
        policy,
      });
      if (decision.action === 'stop') return false;
      if (decision.action === 'refresh-token' && issued) tokens.refused(issued);
      // After a refresh or while offline the retry starts at once: its request gets the fresh
      // token, or waits for the connection in onBeforeRequest.
      decided = decision.action === 'retry' ? decision.delayMs : 0;
      queueMicrotask(() => {
        decided = undefined;
      });
      events.onRetry?.({ error, attempt, decision, delayMs: decided });
      next?.(error);
      return true;
    },
  };
}
