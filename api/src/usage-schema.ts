import { z } from 'zod';

/**
 * GET /api/usage: what the caller stores against their quota. `used` counts every byte Haul
 * keeps for them — finished files (rejected and quarantined ones too, until removed) and each
 * unfinished upload by its declared length (by its offset while the length is deferred). These
 * are logical bytes: a deduplicated file counts in full (`savedBytes` says what sharing saves).
 */
export const usageSchema = z.object({
  used: z.number().int(),
  /** QUOTA_BYTES, or the limit the application set for this user; null: no quota. */
  limit: z.number().int().nullable(),
  /** `limit - used` (never below 0); null: no quota. */
  remaining: z.number().int().nullable(),
  /** Finished files counted in `used` (partial uploads of a parallel upload are not files). */
  files: z.number().int(),
  /**
   * Bytes deduplication saves (DEDUP): the caller's files that share one stored copy with another
   * of their files count once in storage, though fully in `used`. Only the caller's own
   * duplicates count, never a match with another user's file.
   */
  savedBytes: z.number().int(),
});

export type UsageJson = z.infer<typeof usageSchema>;
