import { createHash } from 'node:crypto';

/** The authenticated caller. `id` is the token's `sub`. */
export interface User {
  readonly id: string;
}

/**
 * A stable, opaque, storage-safe key for a user: used in object keys so that layouts are
 * per-user without putting user ids (often e-mail addresses) into S3 keys, URLs or logs.
 */
export function userStorageKey(userId: string): string {
  return createHash('sha256').update(userId).digest('hex').slice(0, 20);
}
