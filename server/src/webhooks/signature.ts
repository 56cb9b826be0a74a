import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { WEBHOOK_HEADERS } from '@haul/api';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/, "Signature scheme"), used for
 * webhooks and for the access hook's requests and answers alike:
 *
 *   "The content to sign is composed by concatenating the id, timestamp and payload, separated by
 *   the full-stop character (.)" — signed with HMAC-SHA256, sent as `v1,<base64 signature>`.
 *   Secrets are `whsec_` + base64; the key is the base64-decoded part.
 */

const SECRET_PREFIX = 'whsec_';
/** The spec: "The secret SHOULD be randomly generated and between 24 bytes (192 bits) and 64 bytes (512 bits)." */
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Receivers reject messages older (or newer) than this: replay protection. */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

/** `whsec_<base64>` → the HMAC key, or a sentence saying what is wrong with it. */
export function parseWebhookSecret(secret: string): { key: Buffer } | { problem: string } {
  if (!secret.startsWith(SECRET_PREFIX)) return { problem: 'must be whsec_ followed by base64 (Standard Webhooks)' };
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!BASE64.test(encoded)) return { problem: 'the part after whsec_ must be base64' };
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    return { problem: `must decode to ${MIN_SECRET_BYTES}–${MAX_SECRET_BYTES} bytes (got ${key.length})` };
  }
  return { key };
}

/** A new secret, e.g. for documentation or tests: 32 random bytes. */
export const generateWebhookSecret = (): string => `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;

/** A fresh message id: `msg_` + 24 base64url characters. Stays the same across retries. */
export const newMessageId = (): string => `msg_${randomBytes(18).toString('base64url')}`;

/** `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>` */
export function sign(key: Buffer, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The three headers of a signed message, timestamped now (seconds). */
export function signedHeaders(key: Buffer, id: string, body: string, now = Date.now()): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    [WEBHOOK_HEADERS.id]: id,
    [WEBHOOK_HEADERS.timestamp]: String(timestamp),
    [WEBHOOK_HEADERS.signature]: sign(key, id, timestamp, body),
  };
}

/**
 * Whether `headers` sign `body` with `key`: the timestamp within the tolerance of `now`, and one
 * of the space-separated `v1,` signatures equal to ours (compared in constant time). Also the
 * id, when `expectedId` is given (an answer must carry the id of the request it answers).
 */
export function verify(
  key: Buffer,
  headers: { get(name: string): string | null },
  body: string,
  { now = Date.now(), expectedId }: { now?: number; expectedId?: string } = {},
): boolean {
  const id = headers.get(WEBHOOK_HEADERS.id);
  const timestamp = headers.get(WEBHOOK_HEADERS.timestamp);
  const signatures = headers.get(WEBHOOK_HEADERS.signature);
  if (!id || !timestamp || !signatures || !/^\d{1,12}$/.test(timestamp)) return false;
  if (expectedId !== undefined && id !== expectedId) return false;
  if (Math.abs(now / 1000 - Number(timestamp)) > TIMESTAMP_TOLERANCE_SECONDS) return false;
  const expected = Buffer.from(sign(key, id, Number(timestamp), body));
  let valid = false;
  for (const candidate of signatures.split(' ')) {
    const given = Buffer.from(candidate);
    // No early exit: every listed signature is compared.
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  return valid;
}
