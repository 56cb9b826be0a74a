import { MAX_TOKEN_SCOPES, scopeSchema, SERVICE_ROLE } from '@haul/api';
import { HaulError } from '../errors.js';
import { serviceUserId, type User } from './user.js';

const MAX_SUB_LENGTH = 255;

/**
 * A verified token's claims → the caller. `sub` is who; `role: "service"` makes a server-to-server
 * caller; the `scopesClaim` claim (JWT_SCOPES_CLAIM, default `scopes`), if present, must be an
 * array of scopes. A malformed claim makes the token invalid rather than quietly meaning "none".
 */
export function userFromClaims(claims: Record<string, unknown>, { scopesClaim }: { scopesClaim: string }): User {
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH) {
    throw new HaulError('AUTH_INVALID', 'Token has no usable subject');
  }
  if (claims[SERVICE_ROLE.claim] === SERVICE_ROLE.value) return { id: serviceUserId(sub), service: sub };
  const raw = claims[scopesClaim];
  if (raw === undefined) return { id: sub };
  if (!Array.isArray(raw) || raw.length > MAX_TOKEN_SCOPES || !raw.every((s) => scopeSchema.safeParse(s).success)) {
    throw new HaulError('AUTH_INVALID', `The token's "${scopesClaim}" claim must be an array of at most ${MAX_TOKEN_SCOPES} scopes`);
  }
  return { id: sub, scopes: raw as string[] };
}
