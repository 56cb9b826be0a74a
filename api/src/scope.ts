import { z } from 'zod';

/**
 * An application scope: the `scope` metadata of an upload (e.g. `conv:123`), the unit of sharing.
 * Everyone the application says is a member of the scope may read its uploads (README, "Access").
 * 1–200 characters, no whitespace or control characters, so a scope reads the same in a URL
 * query, a JWT claim, a log line and a hook request.
 */
export const scopeSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\s\p{Cc}]+$/u, 'no whitespace or control characters')
  .describe('an application scope, e.g. conv:123');

/** The token claim listing the bearer's scopes when JWT_SCOPES_CLAIM is not set. */
export const DEFAULT_SCOPES_CLAIM = 'scopes';
/** At most this many scopes in one token (a larger claim is refused as invalid). */
export const MAX_TOKEN_SCOPES = 1000;
/** The JWT claim and value of a server-to-server caller. */
export const SERVICE_ROLE = { claim: 'role', value: 'service' } as const;
