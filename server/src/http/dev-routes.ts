import { Hono } from 'hono';
import { z } from 'zod';
import type { DevTokenIssuer } from '../auth/tokens.js';
import { HaulError } from '../errors.js';
import type { AppEnv } from './app-env.js';
import { parseJsonBody } from './json-body.js';

export const devTokenRequestSchema = z.object({
  user: z.string().regex(/^[A-Za-z0-9._@+-]{1,64}$/, 'letters, digits and . _ @ + - (1–64 characters)'),
});

export const devTokenResponseSchema = z.object({ token: z.string(), expiresAt: z.string() });

/**
 * POST /api/dev/token {"user":"alice"} → {"token":"…"}: sign in as anyone, for the demo and
 * scripts. Only mounted with AUTH_MODE=dev, which config refuses under NODE_ENV=production.
 */
export function createDevRoutes({ issuer }: { issuer: DevTokenIssuer | undefined }) {
  return new Hono<AppEnv>().post('/api/dev/token', async (c) => {
    if (!issuer) throw new HaulError('DEV_AUTH_DISABLED');
    const { user } = await parseJsonBody(c, devTokenRequestSchema);
    const { token, expiresAt } = await issuer.issue(user);
    return c.json({ token, expiresAt: expiresAt.toISOString() } satisfies z.infer<typeof devTokenResponseSchema>);
  });
}
