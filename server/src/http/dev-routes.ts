import { Hono } from 'hono';
import { type DevTokenResponse, devTokenRequestSchema } from '@haul/api';
import type { DevTokenIssuer } from '../auth/tokens.js';
import { HaulError } from '../errors.js';
import type { AppEnv } from './app-env.js';
import { parseJsonBody } from './json-body.js';

/**
 * POST /api/dev/token {"user":"alice","scopes":["conv:1"]} → {"token":"…"}: sign in as anyone, a
 * member of any scope, for the demo and scripts. Only mounted with AUTH_MODE=dev, which config
 * refuses under NODE_ENV=production.
 */
export function createDevRoutes({ issuer }: { issuer: DevTokenIssuer | undefined }) {
  return new Hono<AppEnv>().post('/api/dev/token', async (c) => {
    if (!issuer) throw new HaulError('DEV_AUTH_DISABLED');
    const { user, scopes } = await parseJsonBody(c, devTokenRequestSchema);
    const { token, expiresAt } = await issuer.issue(user, { scopes });
    return c.json({ token, expiresAt: expiresAt.toISOString() } satisfies DevTokenResponse);
  });
}
