import { HaulError } from './errors.js';

/**
 * What `getToken` is told: `forceRefresh` is true after the server refused the last token
 * (401), so a cached token must not be handed out again.
 *
 * @example
 * ```ts
 * import type { TokenRequest } from '@haul/client';
 * const getToken = async ({ forceRefresh }: TokenRequest) => (forceRefresh ? refreshSession() : currentSession()).accessToken;
 * ```
 */
export interface TokenRequest {
  forceRefresh: boolean;
}

/**
 * Supplies the bearer token: called before every request (tus and JSON API), so a short-lived
 * token is always current. Return null/undefined to send no Authorization header.
 *
 * @example
 * ```ts
 * import type { GetToken } from '@haul/client';
 * let cached: { token: string; expiresAt: number } | undefined;
 * const getToken: GetToken = async ({ forceRefresh }) => {
 *   if (forceRefresh || !cached || cached.expiresAt - Date.now() < 30_000) cached = await fetchTokenFromMyBackend();
 *   return cached.token;
 * };
 * ```
 */
export type GetToken = (request: TokenRequest) => string | null | undefined | Promise<string | null | undefined>;

export interface IssuedToken {
  token: string | null;
  /** Increases with every forced refresh. */
  generation: number;
  forced: boolean;
}

/** Tokens for every request; remembers that a refresh was asked for until someone gets one. */
export class TokenSource {
  generation = 0;
  private refreshRequested = false;

  constructor(private readonly getToken: GetToken) {}

  /** The next request's token: forcibly fresh if `force` or a refresh is pending. */
  async get(force = false): Promise<IssuedToken> {
    const forced = force || this.refreshRequested;
    this.refreshRequested = false;
    let token: string | null | undefined;
    try {
      token = await this.getToken({ forceRefresh: forced });
    } catch (error) {
      throw new HaulError('TOKEN_UNAVAILABLE', `getToken() failed: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
        retryable: false,
      });
    }
    if (forced) this.generation++;
    return { token: token ?? null, generation: this.generation, forced };
  }

  /**
   * Puts the next token on a request: the one place the SDK spells the `Authorization` header
   * (tus requests, the JSON API, the events stream, termination, `authorizedFetch`).
   */
  async authorize(setHeader: (name: string, value: string) => void, force = false): Promise<IssuedToken> {
    const issued = await this.get(force);
    if (issued.token) setHeader('Authorization', `Bearer ${issued.token}`);
    return issued;
  }

  /**
   * The server refused `issued` (401): the next token handed out is forcibly refreshed — unless
   * one was refreshed since `issued` went out (concurrent requests refused together refresh once).
   */
  refused(issued: IssuedToken): void {
    if (issued.generation === this.generation) this.refreshRequested = true;
  }
}

/** Token generation errors are never retried (a broken token provider does not heal). */
export const isTokenError = (error: unknown): boolean => error instanceof HaulError && error.code === 'TOKEN_UNAVAILABLE';
