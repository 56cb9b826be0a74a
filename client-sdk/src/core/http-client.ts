import { abortError, deadline, raceAbort, sleep } from './abort.js';
import type { IssuedToken, TokenSource } from './auth.js';
import { type Connectivity, untilOnline } from './connectivity.js';
import { HaulError, isHaulError } from './errors.js';
import { decide, type RetryPolicy } from './retry-policy.js';

/**
 * The `fetch` the SDK calls for the JSON API, the events stream, OPTIONS and termination (tus
 * PATCHes go through tus-js-client's own HTTP stack, which reports upload progress).
 *
 * @example
 * ```ts
 * const loggingFetch: FetchFunction = (url, init) => {
 *   console.debug(init?.method ?? 'GET', url);
 *   return fetch(url, init);
 * };
 * const client = createHaulClient({ endpoint: '/files/', getToken, fetch: loggingFetch });
 * ```
 */
export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

export interface HttpClientDeps {
  fetch: FetchFunction;
  tokens: TokenSource;
  policy: RetryPolicy;
  connectivity: Connectivity;
}

/** Options of {@link HttpClient.send}. */
export interface SendOptions {
  signal?: AbortSignal;
  /** Bound on each attempt, from sending to the last byte of the body. */
  timeoutMs?: number;
  /** Fewer retries than the client's policy allows (termination, which `abort()` awaits). */
  maxRetries?: number;
  /** Without the bearer token (the tus OPTIONS probe: no token needed, no CORS preflight). */
  anonymous?: boolean;
}

/** An answer with its body read: any status, success or not. */
export interface Answer {
  response: Response;
  text: string;
}

/** The SDK's requests outside tus-js-client: one authorised fetch, retried by the one policy. */
export interface HttpClient {
  /**
   * `fetch` with the bearer token. A 401 gets one more try with a fresh token when the policy
   * says so (the token had not been refreshed already); anything else is the caller's.
   */
  authorizedFetch(url: string, init?: RequestInit): Promise<Response>;
  /**
   * The request until it is answered with something the policy does not retry (a success
   * included), body read; rejects with a HaulError when no usable answer came (network errors
   * and timeouts after the last retry, abort). Bodies must be strings (they are sent again).
   */
  send(url: string, init: RequestInit & { body?: string }, options?: SendOptions): Promise<Answer>;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export function createHttpClient({ fetch, tokens, policy, connectivity }: HttpClientDeps): HttpClient {
  /** One request; the token it carried, to judge a 401. */
  const once = async (url: string, init: RequestInit, anonymous = false): Promise<{ response: Response; issued: IssuedToken | null }> => {
    const headers = new Headers(init.headers);
    const issued = anonymous ? null : await tokens.authorize((name, value) => headers.set(name, value));
    return { response: await fetch(url, { ...init, headers }), issued };
  };

  /** A 401 on a token that was not refreshed yet: once more, with a refreshed one (policy rule 2). */
  const withFreshToken = async (url: string, init: RequestInit, first: { response: Response; issued: IssuedToken | null }) => {
    const { response, issued } = first;
    if (response.status !== 401 || !issued) return first;
    const decision = decide(response, { attempt: 0, online: connectivity.isOnline(), tokenRefreshed: issued.forced, policy });
    if (decision.action !== 'refresh-token') return first;
    await response.body?.cancel().catch(() => {});
    tokens.refused(issued);
    return once(url, init);
  };

  return {
    async authorizedFetch(url, init = {}) {
      return (await withFreshToken(url, init, await once(url, init))).response;
    },

    async send(url, init, options = {}) {
      const { signal } = options;
      const method = init.method ?? 'GET';
      const retryPolicy = options.maxRetries === undefined ? policy : { ...policy, maxAttempts: Math.min(policy.maxAttempts, options.maxRetries) };
      for (let attempt = 0; ; ) {
        if (signal?.aborted) throw abortError(signal);
        const limit = deadline(signal, options.timeoutMs, () => new HaulError('TIMEOUT', `${method} ${url}: no answer within ${options.timeoutMs} ms`));
        let outcome: Answer | HaulError;
        try {
          const attemptInit = { ...init, signal: limit.signal };
          const answered = await raceAbort(once(url, attemptInit, options.anonymous).then((first) => withFreshToken(url, attemptInit, first)), limit.signal);
          outcome = { response: answered.response, text: await raceAbort(answered.response.text(), limit.signal) };
        } catch (error) {
          if (signal?.aborted) throw abortError(signal);
          if (limit.signal.aborted) outcome = abortError(limit.signal);
          else outcome = isHaulError(error) ? error : new HaulError('NETWORK_ERROR', `${method} ${url}: ${messageOf(error)}`, { cause: error });
        } finally {
          limit.dispose();
        }
        if (!isHaulError(outcome) && outcome.response.ok) return outcome;
        const decision = decide(isHaulError(outcome) ? outcome : outcome.response, {
          attempt,
          online: connectivity.isOnline(),
          // withFreshToken spent (or was refused) the one refresh a request gets.
          tokenRefreshed: true,
          method,
          policy: retryPolicy,
        });
        if (decision.action === 'stop' || decision.action === 'refresh-token') {
          if (isHaulError(outcome)) throw outcome;
          return outcome;
        }
        const wait = decision.action === 'wait-online' ? untilOnline(connectivity, signal) : sleep(decision.delayMs, signal);
        await wait.catch(() => {
          throw abortError(signal);
        });
        if (decision.action === 'retry') attempt++;
      }
    },
  };
}
