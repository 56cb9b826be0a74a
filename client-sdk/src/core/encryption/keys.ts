import { HaulError } from '../errors.js';
import { type AesKey, type CryptoEngine, importAesKey, randomBytes } from './cipher.js';
import { type EncryptionHeader, FILE_KEY_SIZE, fromBase64url, toBase64url } from './format.js';

/**
 * Keys stay with the application: the SDK makes a random key per file and hands it to the
 * application's key (or function) to wrap; only the wrapped key travels, in the upload's metadata.
 */

/**
 * Wraps and unwraps per-file keys with a key the application holds (a conversation key, a key
 * from its KMS). `wrap` returns any string (it is stored as it is); `unwrap` gets it back.
 *
 * @example
 * ```ts
 * const wrapper: KeyWrapper = {
 *   wrap: async (fileKey) => kms.encrypt(conversationId, fileKey),
 *   unwrap: async (wrapped) => kms.decrypt(conversationId, wrapped),
 * };
 * client.upload(file, { encryption: { key: wrapper } });
 * ```
 */
export interface KeyWrapper {
  wrap(fileKey: Uint8Array): Promise<string>;
  unwrap(wrapped: string): Promise<Uint8Array>;
}

/**
 * The application's key: 32 bytes, a WebCrypto AES-GCM `CryptoKey` (usages `encrypt`, `decrypt`),
 * or a {@link KeyWrapper}.
 *
 * @example
 * ```ts
 * const key: EncryptionKey = crypto.getRandomValues(new Uint8Array(32));
 * ```
 */
export type EncryptionKey = Uint8Array | CryptoKey | KeyWrapper;

/**
 * `encryption` of {@link UploadOptions}, `download()` and `preview()`.
 *
 * @example
 * ```ts
 * const encryption: EncryptionOptions = { key: conversationKey };
 * const { id } = await client.upload(file, { encryption }).result;
 * const stream = await client.download(id, { encryption });
 * ```
 */
export interface EncryptionOptions {
  key: EncryptionKey;
  /** Upload a small encrypted preview with the file (images and videos). Default true. */
  preview?: boolean;
}

/** Associated data of the built-in wrapping: a wrapped key cannot be mistaken for anything else. */
const WRAP_AAD = new TextEncoder().encode('haul-e2e/1 file key');
const WRAP_IV_SIZE = 12;

const isWrapper = (key: EncryptionKey): key is KeyWrapper => typeof (key as Partial<KeyWrapper>).wrap === 'function';

/** A per-file key, opened for sealing records, and how it is wrapped for the header. */
export interface FileKey {
  aes: AesKey;
  wrapped: string;
  wrap: EncryptionHeader['wrap'];
}

async function wrapWith(appKey: Uint8Array | CryptoKey, fileKey: Uint8Array): Promise<string> {
  const iv = await randomBytes(WRAP_IV_SIZE);
  const sealed = await (await importAesKey(appKey)).encrypt(iv, fileKey, WRAP_AAD);
  const out = new Uint8Array(iv.length + sealed.length);
  out.set(iv, 0);
  out.set(sealed, iv.length);
  return toBase64url(out);
}

/** A fresh random per-file key, wrapped with the application's key. */
export async function newFileKey(key: EncryptionKey, engine: CryptoEngine = 'auto'): Promise<FileKey> {
  const raw = await randomBytes(FILE_KEY_SIZE);
  const wrapped = isWrapper(key) ? await key.wrap(raw.slice()) : await wrapWith(key, raw);
  if (typeof wrapped !== 'string' || wrapped.length === 0) throw new HaulError('INVALID_INPUT', 'encryption.key.wrap() must return a non-empty string', { retryable: false });
  const aes = await importAesKey(raw, engine);
  raw.fill(0);
  return { aes, wrapped, wrap: isWrapper(key) ? 'app' : 'A256GCM' };
}

/** The per-file key of `header`, unwrapped with the application's key (DECRYPTION_FAILED if it is the wrong one). */
export async function openFileKey(key: EncryptionKey, header: Pick<EncryptionHeader, 'key' | 'wrap'>, engine: CryptoEngine = 'auto'): Promise<FileKey> {
  let raw: Uint8Array;
  if (header.wrap === 'app') {
    if (!isWrapper(key)) throw new HaulError('DECRYPTION_FAILED', 'this file key was wrapped by an application function: pass a KeyWrapper as encryption.key', { retryable: false });
    try {
      raw = await key.unwrap(header.key);
    } catch (error) {
      throw new HaulError('DECRYPTION_FAILED', 'encryption.key.unwrap() failed', { cause: error, retryable: false });
    }
  } else {
    if (isWrapper(key)) throw new HaulError('DECRYPTION_FAILED', 'this file key was wrapped with a 32-byte key or CryptoKey, not a KeyWrapper', { retryable: false });
    const wrapped = fromBase64url(header.key);
    try {
      raw = await (await importAesKey(key)).decrypt(wrapped.subarray(0, WRAP_IV_SIZE), wrapped.subarray(WRAP_IV_SIZE), WRAP_AAD);
    } catch (error) {
      throw new HaulError('DECRYPTION_FAILED', 'wrong key: the file key does not unwrap with it', { cause: error, retryable: false });
    }
  }
  if (raw.length !== FILE_KEY_SIZE) throw new HaulError('DECRYPTION_FAILED', `the unwrapped file key has ${raw.length} bytes, not ${FILE_KEY_SIZE}`, { retryable: false });
  const aes = await importAesKey(raw, engine);
  return { aes, wrapped: header.key, wrap: header.wrap };
}
