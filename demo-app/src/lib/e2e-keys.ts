/**
 * End-to-end encryption keys of the demo, held only in this page: one per conversation, derived
 * with PBKDF2 from a passphrase its members share out of band (salt: the conversation id, so one
 * passphrase gives each conversation its own key), and a personal one for files outside any
 * conversation. A real chat app would use its own key agreement; the SDK only needs the key.
 */

const PBKDF2_ITERATIONS = 210_000; // OWASP's figure for PBKDF2-HMAC-SHA512

/** Where a key applies: a conversation's scope (`conv:<id>`), or `personal`. */
export type KeySlot = string;
export const PERSONAL_SLOT: KeySlot = 'personal';

/** The slot of an upload (or of the uploader's current conversation): its scope, else personal. */
export const slotOf = (scope: string | null | undefined): KeySlot => (scope?.startsWith('conv:') ? scope : PERSONAL_SLOT);

/** The PBKDF2 salt of a slot: the conversation id; for the personal key, the user's name. */
export const saltOf = (slot: KeySlot, user: string): string => (slot === PERSONAL_SLOT ? `personal:${user}` : slot.slice('conv:'.length));

/** An AES-256-GCM key (encrypt, decrypt; not extractable) from `passphrase` and `salt`. */
export async function deriveKey(passphrase: string, salt: string): Promise<CryptoKey> {
  const encoder = new TextEncoder();
  const material = await crypto.subtle.importKey('raw', encoder.encode(passphrase), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-512', salt: encoder.encode(salt), iterations: PBKDF2_ITERATIONS },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}
