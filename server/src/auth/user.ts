import { createHash } from 'node:crypto';

/** The authenticated caller. */
export interface User {
  /** The token's `sub`; for a service, `service:<name>`. */
  readonly id: string;
  /**
   * The scopes the token says its bearer belongs to (the JWT_SCOPES_CLAIM claim): membership
   * without asking the application. Undefined when the token says nothing about scopes.
   */
  readonly scopes?: readonly string[];
  /** A server-to-server caller (JWT `role: "service"`, or a SERVICE_TOKENS token): its name. */
  readonly service?: string;
}

/** The user id of a service: never a valid dev-token user (no ':' there). */
export const serviceUserId = (name: string) => `service:${name}`;

/**
 * A stable, opaque, storage-safe key for a user: used in object keys so that layouts are
 * per-user without putting user ids (often e-mail addresses) into S3 keys, URLs or logs.
 */
export function userStorageKey(userId: string): string {
  return createHash('sha256').update(userId).digest('hex').slice(0, 20);
}
