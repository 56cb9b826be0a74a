import type { RawMetadata, StoredMetadataValue } from './metadata.js';

/**
 * End-to-end encrypted uploads: the client (the SDK's `encryption` option) seals the file before
 * sending it and puts its header — the wrapped file key and the format's parameters — in the
 * `encryption` metadata. The server cannot read any of it and does not try: the header is kept
 * and handed back as it came; its presence is what marks an upload as encrypted.
 */
export const ENCRYPTION_METADATA_KEY = 'encryption';

/** ENCRYPTED_UPLOADS. */
export type EncryptedUploadsPolicy = 'allow' | 'refuse';

/** The reason an encrypted upload ends `ready` with: why it was not checked. */
export const ENCRYPTED_REASON = 'end-to-end encrypted: the server holds only ciphertext, so the file was not type-checked, scanned or thumbnailed';

export const isEncryptedRequest = (raw: RawMetadata): boolean => raw.has(ENCRYPTION_METADATA_KEY);

/** The header of a stored upload, or null if it is not encrypted. */
export function encryptionHeaderOf(metadata: Record<string, StoredMetadataValue>): string | null {
  const value = metadata[ENCRYPTION_METADATA_KEY];
  if (value === undefined) return null;
  if (typeof value === 'string') return value;
  // Binary or empty: still encrypted (never processed as plaintext), with a header no client reads.
  return value === null ? '' : Buffer.from(value.base64, 'base64').toString('latin1');
}
