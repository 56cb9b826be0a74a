import { HaulError } from '../errors.js';
import { FILE_KEY_SIZE, recordNonce, TAG_SIZE } from './format.js';

/**
 * AES-256-GCM from the platform: WebCrypto (`globalThis.crypto.subtle`: browsers, React Native
 * with a WebCrypto polyfill) where present, else `node:crypto` — which the Node entry prefers for
 * records (`engine: 'node'`): it seals a 64 KiB record with about half the CPU of Node's WebCrypto
 * (no thread-pool hop, fewer copies). No cipher is written here; this file only chooses one.
 */

/** Which implementation seals records: the platform's WebCrypto if present (`auto`), or `node:crypto`. */
export type CryptoEngine = 'auto' | 'node';

/** Seals and opens the records of one stream (one key, one nonce prefix). */
export interface RecordCipher {
  seal(index: number, last: boolean, plaintext: Uint8Array): Promise<Uint8Array>;
  /** Throws DECRYPTION_FAILED naming the record when its tag does not verify. */
  open(index: number, last: boolean, sealed: Uint8Array): Promise<Uint8Array>;
}

/** An AES-256-GCM key ready for records: imported once, used for every record. */
export interface AesKey {
  cipher(noncePrefix: Uint8Array): RecordCipher;
  /** One-off sealing with an explicit 12-byte IV (key wrapping). */
  encrypt(iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  decrypt(iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
}

const subtle = (): SubtleCrypto | undefined => (globalThis as { crypto?: Crypto }).crypto?.subtle;

/** Fresh random bytes from the platform's CSPRNG. */
export async function randomBytes(size: number): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = new Uint8Array(size);
  const web = (globalThis as { crypto?: Crypto }).crypto;
  if (web?.getRandomValues) return web.getRandomValues(bytes);
  const node = await nodeCrypto();
  bytes.set(node.randomBytes(size));
  return bytes;
}

interface NodeCryptoModule {
  randomBytes(size: number): Uint8Array;
  createCipheriv(algorithm: 'aes-256-gcm', key: Uint8Array, iv: Uint8Array, options?: { authTagLength: number }): NodeGcm & { getAuthTag(): Uint8Array };
  createDecipheriv(algorithm: 'aes-256-gcm', key: Uint8Array, iv: Uint8Array, options?: { authTagLength: number }): NodeGcm & { setAuthTag(tag: Uint8Array): void };
}
interface NodeGcm {
  setAAD(aad: Uint8Array): void;
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
}

/** `node:crypto`, loaded only where WebCrypto is missing (the specifier hidden from bundlers). */
async function nodeCrypto(): Promise<NodeCryptoModule> {
  const specifier = 'node:crypto';
  try {
    return (await import(/* @vite-ignore */ specifier)) as NodeCryptoModule;
  } catch (error) {
    throw new HaulError('INVALID_INPUT', 'end-to-end encryption needs WebCrypto (crypto.subtle) or node:crypto', { cause: error, retryable: false });
  }
}

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
};

const asBuffer = (bytes: Uint8Array): Uint8Array<ArrayBuffer> =>
  bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);

const tampered = (index: number, cause?: unknown): HaulError =>
  new HaulError(
    'DECRYPTION_FAILED',
    `record ${index} failed authentication: the bytes were changed, reordered, truncated or spliced, or the key is wrong`,
    { cause, retryable: false },
  );

function streamCipher(key: Pick<AesKey, 'encrypt' | 'decrypt'>, prefix: Uint8Array): RecordCipher {
  const empty = new Uint8Array(0);
  return {
    seal: (index, last, plaintext) => key.encrypt(recordNonce(prefix, index, last), plaintext, empty),
    async open(index, last, sealed) {
      if (sealed.length < TAG_SIZE) throw tampered(index);
      try {
        return await key.decrypt(recordNonce(prefix, index, last), sealed, empty);
      } catch (error) {
        throw tampered(index, error);
      }
    },
  };
}

/** Imports a raw 32-byte key (or takes a WebCrypto AES-GCM key as it is). */
export async function importAesKey(key: Uint8Array | CryptoKey, engine: CryptoEngine = 'auto'): Promise<AesKey> {
  const web = engine === 'node' && key instanceof Uint8Array ? undefined : subtle();
  if (key instanceof Uint8Array && key.length !== FILE_KEY_SIZE) {
    throw new HaulError('INVALID_INPUT', `an AES-256 key has ${FILE_KEY_SIZE} bytes, not ${key.length}`, { retryable: false });
  }
  if (web) {
    const cryptoKey = key instanceof Uint8Array ? await web.importKey('raw', asBuffer(key), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']) : key;
    const aes: AesKey = {
      cipher: (prefix) => streamCipher(aes, prefix),
      encrypt: async (iv, plaintext, aad) =>
        new Uint8Array(await web.encrypt({ name: 'AES-GCM', iv: asBuffer(iv), additionalData: asBuffer(aad), tagLength: 128 }, cryptoKey, asBuffer(plaintext))),
      decrypt: async (iv, sealed, aad) =>
        new Uint8Array(await web.decrypt({ name: 'AES-GCM', iv: asBuffer(iv), additionalData: asBuffer(aad), tagLength: 128 }, cryptoKey, asBuffer(sealed))),
    };
    return aes;
  }
  if (!(key instanceof Uint8Array)) throw new HaulError('INVALID_INPUT', 'a CryptoKey needs WebCrypto; pass the key as 32 bytes', { retryable: false });
  const node = await nodeCrypto();
  const raw = key.slice();
  const aes: AesKey = {
    cipher: (prefix) => streamCipher(aes, prefix),
    async encrypt(iv, plaintext, aad) {
      const gcm = node.createCipheriv('aes-256-gcm', raw, iv, { authTagLength: TAG_SIZE });
      gcm.setAAD(aad);
      // GCM's final() adds no bytes: ciphertext and tag are joined in one copy.
      const body = gcm.update(plaintext);
      const tail = gcm.final();
      const tag = gcm.getAuthTag();
      const out = new Uint8Array(body.length + tail.length + tag.length);
      out.set(body, 0);
      out.set(tail, body.length);
      out.set(tag, body.length + tail.length);
      return out;
    },
    async decrypt(iv, sealed, aad) {
      const gcm = node.createDecipheriv('aes-256-gcm', raw, iv, { authTagLength: TAG_SIZE });
      gcm.setAAD(aad);
      gcm.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
      return concat(gcm.update(sealed.subarray(0, sealed.length - TAG_SIZE)), gcm.final());
    },
  };
  return aes;
}
