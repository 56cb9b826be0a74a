import { API_PATHS, devTokenResponseSchema, HEADERS } from '@haul/api';
import type { GetToken } from './auth.js';
import { errorFromResponse, HaulError } from './errors.js';
import type { FetchFunction } from './http-client.js';

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/**
 * Options of {@link devTokenProvider}.
 *
 * @example
 * ```ts
 * const options: DevTokenOptions = { user: 'alice', baseUrl: 'http://localhost:3000' };
 * ```
 */
export interface DevTokenOptions {
  /** Who to sign in as: letters, digits and `. _ @ + -`, 1–64 characters. */
  user: string;
  /** Scopes (e.g. conversations) the token says the user belongs to. */
  scopes?: readonly string[];
  /** The server's origin; default "" (this page's origin, in a browser). */
  baseUrl?: string;
  fetch?: FetchFunction;
  /** A cached token is replaced this long before it expires. Default 60 s. */
  refreshMarginMs?: number;
}

/**
 * A `getToken` for servers in development mode (`AUTH_MODE=dev`): signs in as `user` through
 * `POST /api/dev/token`, caches the token and fetches a new one before it expires or when the
 * server refuses it. Never for production: such servers refuse dev mode.
 *
 * @example
 * ```ts
 * const client = createHaulClient({ endpoint: '/files/', getToken: devTokenProvider({ user: 'alice' }) });
 * ```
 */
export function devTokenProvider(options: DevTokenOptions): GetToken {
  const { user, refreshMarginMs = 60_000 } = options;
  const url = `${(options.baseUrl ?? '').replace(/\/+$/, '')}${API_PATHS.devToken}`;
  const fetchFn: FetchFunction = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  let cached: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;

  const issue = async (): Promise<string> => {
    let response: Response;
    try {
      response = await fetchFn(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(options.scopes ? { user, scopes: options.scopes } : { user }),
      });
    } catch (error) {
      throw new HaulError('NETWORK_ERROR', `POST ${url}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const text = await response.text();
    if (!response.ok) throw errorFromResponse(response.status, text, response.headers.get(HEADERS.retryAfter));
    const parsed = devTokenResponseSchema.safeParse(parseJson(text));
    if (!parsed.success) throw new HaulError('INVALID_RESPONSE', `POST ${url}: unexpected response`, { cause: parsed.error, retryable: false });
    cached = { token: parsed.data.token, expiresAt: Date.parse(parsed.data.expiresAt) };
    return cached.token;
  };

  return ({ forceRefresh }) => {
    if (!forceRefresh && cached && cached.expiresAt - Date.now() > refreshMarginMs) return cached.token;
    // Concurrent requests share one sign-in.
    pending ??= issue().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}
