import type { User } from './user.js';

/**
 * Bearer tokens that passed verification, so that the PATCHes of an upload — each carrying the
 * same token — are not verified again one by one. jose verifies through WebCrypto, which Node
 * runs on libuv's thread pool: every verification is a round trip the request waits for before
 * it can take the upload's lock (measured in the PATCH path: ~0.1 ms on a quiet machine, 1.5–4 ms
 * with the machine's load at 20 on 2 cores).
 *
 * A token counts as verified, as the same user, until its `exp` and for at most `ttlMs` after it
 * was verified — so a token signed with a key its issuer has since withdrawn from the JWKS stops
 * being accepted within that time, as it would be once jose's own JWKS cache refreshes. Only
 * tokens that passed are kept (holding one requires the signing key); bounded, oldest first.
 */
export function createVerifiedTokens({ ttlMs = 60_000, max = 10_000, now = Date.now }: { ttlMs?: number; max?: number; now?: () => number } = {}) {
  const entries = new Map<string, { user: User; until: number }>();
  return {
    /** The user of a token verified before and still within its time, else undefined. */
    get(token: string): User | undefined {
      const entry = entries.get(token);
      if (!entry) return undefined;
      if (now() < entry.until) return entry.user;
      entries.delete(token);
      return undefined;
    },
    /** `token` was just verified as `user`; it expires at `expiresAtMs` (its `exp`). */
    remember(token: string, user: User, expiresAtMs: number): void {
      const until = Math.min(expiresAtMs, now() + ttlMs);
      if (!(until > now())) return;
      entries.delete(token);
      entries.set(token, { user, until });
      if (entries.size > max) entries.delete(entries.keys().next().value!);
    },
  };
}

export type VerifiedTokens = ReturnType<typeof createVerifiedTokens>;
