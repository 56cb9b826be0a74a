import type { Context } from 'hono';
import type { TokenVerifier } from '../auth/tokens.js';
import { bearerToken } from '../auth/tokens.js';
import type { User } from '../auth/user.js';
import { HaulError } from '../errors.js';
import type { AppEnv } from './app-env.js';

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="haul"' };

/** The caller from `Authorization: Bearer …`, or a 401 that tells them why. */
export async function authenticate(
  c: Context<AppEnv>,
  verifier: TokenVerifier,
  { allowQueryToken = false }: { allowQueryToken?: boolean } = {},
): Promise<User> {
  const header = c.req.header('authorization');
  // Only where a browser API cannot send headers (EventSource): tokens in URLs end up in logs.
  const token = bearerToken(header) ?? (allowQueryToken ? c.req.query('access_token') : undefined);
  if (!token) {
    throw new HaulError('AUTH_REQUIRED', undefined, { headers: CHALLENGE });
  }
  try {
    const user = await verifier.verify(token);
    c.set('user', user);
    return user;
  } catch (error) {
    if (error instanceof HaulError && error.code === 'AUTH_INVALID') {
      throw new HaulError('AUTH_INVALID', error.message, { headers: { 'WWW-Authenticate': `Bearer realm="haul", error="invalid_token"` } });
    }
    throw error;
  }
}
