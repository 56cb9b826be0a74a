import { z } from 'zod';

/** POST /api/dev/token (AUTH_MODE=dev only): sign in as anyone, for the demo and scripts. */
export const devTokenRequestSchema = z.object({
  user: z.string().regex(/^[A-Za-z0-9._@+-]{1,64}$/, 'letters, digits and . _ @ + - (1–64 characters)'),
});

export const devTokenResponseSchema = z.object({ token: z.string(), expiresAt: z.string() });

export type DevTokenResponse = z.infer<typeof devTokenResponseSchema>;
