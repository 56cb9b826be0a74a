import { Hono } from 'hono';
import { API_PATHS } from '@haul/api';
import type { TokenVerifier } from '../auth/tokens.js';
import { HaulError } from '../errors.js';
import type { Erasure } from '../uploads/erasure.js';
import type { Quotas } from '../uploads/quota.js';
import type { AppEnv } from './app-env.js';
import { authenticate } from './authenticate.js';

/**
 * A user's account: GET /api/usage (storage used against the quota); erasure of everything of a
 * user — DELETE /api/users/me by the user, DELETE /api/users/<id> by a service — answered 204
 * once nothing of theirs remains (uploads/erasure.ts; an interrupted one is finished by calling
 * again, or by the expiry sweep).
 */
export function createUserRoutes({ verifier, quotas, erasure }: { verifier: TokenVerifier; quotas: Pick<Quotas, 'usage'>; erasure: Pick<Erasure, 'erase'> }) {
  return new Hono<AppEnv>()
    .get(API_PATHS.usage, async (c) => {
      const user = await authenticate(c, verifier);
      return c.json(await quotas.usage(user.id), 200, { 'Cache-Control': 'no-store' });
    })
    .delete(`${API_PATHS.users}/me`, async (c) => {
      const user = await authenticate(c, verifier);
      await erasure.erase(user.id, user.id);
      return c.body(null, 204);
    })
    .delete(`${API_PATHS.users}/:id`, async (c) => {
      const user = await authenticate(c, verifier);
      if (!user.service) throw new HaulError('FORBIDDEN', "Only a service may erase another user's data; users erase their own with DELETE /api/users/me");
      const id = c.req.param('id');
      if (id.length === 0 || id.length > 255) throw new HaulError('INVALID_REQUEST', 'A user id is 1 to 255 characters');
      await erasure.erase(id, user.id);
      return c.body(null, 204);
    });
}
