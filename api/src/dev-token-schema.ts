import { z } from 'zod';
import { scopeSchema } from './scope.js';

/** POST /api/dev/token (AUTH_MODE=dev only): sign in as anyone, for the demo and scripts. */
export const devTokenRequestSchema = z.object({
  user: z.string().regex(/^[A-Za-z0-9._@+-]{1,64}$/, 'letters, digits and . _ @ + - (1–64 characters)'),
  /** The scopes the token says its bearer belongs to (the JWT_SCOPES_CLAIM claim). */
  scopes: z.array(scopeSchema).max(100).optional(),
});

export const devTokenResponseSchema = z.object({ token: z.string(), expiresAt: z.string() });

export type DevTokenRequest = z.input<typeof devTokenRequestSchema>;
export type DevTokenResponse = z.infer<typeof devTokenResponseSchema>;
