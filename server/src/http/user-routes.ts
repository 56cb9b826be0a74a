import { Hono } from 'hono';
import { API_PATHS } from '@haul/api';
import type { TokenVerifier } from '../auth/tokens.js';
import type { Quotas } from '../uploads/quota.js';
import type { AppEnv } from './app-env.js';
import { authenticate } from './authenticate.js';

/** The caller's own account: GET /api/usage (storage used against the quota). */
export function createUserRoutes({ verifier, quotas }: { verifier: TokenVerifier; quotas: Pick<Quotas, 'usage'> }) {
  return new Hono<AppEnv>().get(API_PATHS.usage, async (c) => {
    const user = await authenticate(c, verifier);
    return c.json(await quotas.usage(user.id), 200, { 'Cache-Control': 'no-store' });
  });
}
