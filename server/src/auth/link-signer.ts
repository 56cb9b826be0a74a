import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import { persistedSecret } from './tokens.js';

export interface SignedLink {
  path: string;
  expiresAt: Date;
}

/**
 * Shareable download links: `/api/links/<id>/<expires>/<signature>`, the signature an
 * HMAC-SHA256 over the upload id and the expiry. No login is needed until it expires; deleting
 * the upload revokes every link to it. The key is LINK_SECRET, else derived from JWT_SECRET,
 * else generated in DATA_DIR (one instance; set LINK_SECRET when running several).
 */
export async function createLinkSigner(config: Config) {
  const key = config.files.linkSecret
    ? Buffer.from(config.files.linkSecret)
    : config.auth.jwtSecret
      ? createHmac('sha256', config.auth.jwtSecret).update('haul share links').digest()
      : Buffer.from(await persistedSecret(config.dataDir, 'link-secret'));
  const sign = (id: string, expires: number) => createHmac('sha256', key).update(`${id}.${expires}`).digest('base64url');

  return {
    create(id: string, ttlSeconds = config.files.linkTtlSeconds): SignedLink {
      const expires = Math.floor(Date.now() / 1000) + ttlSeconds;
      return { path: `/api/links/${id}/${expires}/${sign(id, expires)}`, expiresAt: new Date(expires * 1000) };
    },
    /** 'valid', or why not. Constant-time comparison of the signature. */
    verify(id: string, expires: string, signature: string): 'valid' | 'expired' | 'invalid' {
      if (!/^\d{1,12}$/.test(expires)) return 'invalid';
      const expected = Buffer.from(sign(id, Number(expires)));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
      return Number(expires) * 1000 < Date.now() ? 'expired' : 'valid';
    },
  };
}

export type LinkSigner = Awaited<ReturnType<typeof createLinkSigner>>;
