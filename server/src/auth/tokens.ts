import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config.js';
import { HaulError } from '../errors.js';
import { userFromClaims } from './claims.js';
import { createServiceTokenMatcher } from './service-tokens.js';
import { serviceUserId, type User } from './user.js';
import { createVerifiedTokens } from './verified-tokens.js';

export interface TokenVerifier {
  verify(token: string): Promise<User>;
}

export interface DevTokenIssuer {
  /** `scopes` go into the JWT_SCOPES_CLAIM claim. */
  issue(userId: string, options?: { scopes?: readonly string[] }): Promise<{ token: string; expiresAt: Date }>;
}

const ISSUER_DEV = 'haul-dev';

/**
 * Dev mode signs its own HS256 tokens. Without JWT_SECRET the key is generated once and kept
 * in DATA_DIR so tokens survive restarts (resuming after a restart is the point of Haul).
 */
async function devSecret(config: Config): Promise<Uint8Array> {
  if (config.auth.jwtSecret) return new TextEncoder().encode(config.auth.jwtSecret);
  return persistedSecret(config.dataDir, 'dev-jwt-secret');
}

/** Shorter than this, a kept secret is not one Haul wrote whole (43 characters: 32 random bytes, base64url). */
const MIN_SECRET_LENGTH = 32;

/**
 * A random secret generated on first use and kept in DATA_DIR (mode 600). It is written whole
 * under a temporary name and then linked into place: a process starting at the same moment never
 * reads it half-written, and a crash never leaves it empty — `writeFile` creates the file before
 * it writes, and an empty HMAC key would sign links and tokens for anyone. One left empty or short
 * by such a crash (before this was so) is replaced.
 */
export async function persistedSecret(dataDir: string, name: string): Promise<Uint8Array> {
  const file = path.join(dataDir, name);
  const kept = await readSecret(file);
  if (kept) return kept;
  await fs.mkdir(dataDir, { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(temp, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  try {
    await fs.link(temp, file).catch(async (error: NodeJS.ErrnoException) => {
      // EEXIST: another process was first, and its secret is everyone's — unless it is a crash's leftover.
      // Other codes: a file system without hard links; renaming is atomic there too.
      if (error.code !== 'EEXIST' || !(await readSecret(file))) await fs.rename(temp, file);
    });
  } finally {
    await fs.rm(temp, { force: true });
  }
  const secret = await readSecret(file);
  if (!secret) throw new Error(`${file}: no secret could be kept there`);
  return secret;
}

async function readSecret(file: string): Promise<Uint8Array | undefined> {
  const text = await fs.readFile(file, 'utf8').then(
    (content) => content.trim(),
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    },
  );
  return text.length >= MIN_SECRET_LENGTH ? new TextEncoder().encode(text) : undefined;
}

export interface Auth {
  verifier: TokenVerifier;
  devIssuer: DevTokenIssuer | undefined;
}

export async function createAuth(config: Config): Promise<Auth> {
  const { mode, jwksUrl, issuer, audience, devTokenTtlSeconds, scopesClaim } = config.auth;
  const serviceNamed = createServiceTokenMatcher(config.auth.serviceTokens);
  // A KeyObject made once: given raw bytes, jose imports the key again on every verification
  // (measured: ~60 µs vs ~20 µs per token, on every PATCH).
  const secret = createSecretKey(mode === 'dev' ? await devSecret(config) : new TextEncoder().encode(config.auth.jwtSecret ?? ''));
  const key: KeyObject | JWTVerifyGetKey =
    mode === 'jwt' && jwksUrl ? createRemoteJWKSet(new URL(jwksUrl)) : secret;
  const algorithms = typeof key === 'function' ? ['RS256', 'ES256'] : ['HS256'];
  // Each PATCH of an upload brings the same token: verified once, not once per request.
  const verified = createVerifiedTokens();

  const verifier: TokenVerifier = {
    async verify(token) {
      // SERVICE_TOKENS first: static tokens of the application's backend (never JWTs).
      const service = serviceNamed(token);
      if (service !== undefined) return { id: serviceUserId(service), service };
      const known = verified.get(token);
      if (known) return known;
      try {
        const options = {
          algorithms,
          issuer: mode === 'dev' ? ISSUER_DEV : issuer,
          audience,
          clockTolerance: 5,
          requiredClaims: ['sub', 'exp'],
        };
        const { payload } =
          typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
        const user = userFromClaims(payload, { scopesClaim });
        // `exp` is a required claim: jose has checked it is there and a number.
        verified.remember(token, user, (payload.exp as number) * 1000);
        return user;
      } catch (error) {
        if (error instanceof HaulError) throw error;
        if (error instanceof joseErrors.JWTExpired) throw new HaulError('AUTH_INVALID', 'The bearer token has expired');
        if (error instanceof joseErrors.JOSEError) throw new HaulError('AUTH_INVALID');
        // JWKS endpoint unreachable and similar: not the client's fault, let it retry.
        throw new HaulError('INTERNAL', 'Could not verify the token', { cause: error });
      }
    },
  };

  const devIssuer: DevTokenIssuer | undefined =
    mode === 'dev'
      ? {
          async issue(userId, { scopes } = {}) {
            const expiresAt = new Date(Date.now() + devTokenTtlSeconds * 1000);
            const token = await new SignJWT(scopes ? { [scopesClaim]: [...scopes] } : {})
              .setProtectedHeader({ alg: 'HS256' })
              .setSubject(userId)
              .setIssuer(ISSUER_DEV)
              .setIssuedAt()
              .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
              .sign(secret);
            return { token, expiresAt };
          },
        }
      : undefined;

  return { verifier, devIssuer };
}

/** `Authorization: Bearer <token>` → token, or undefined. */
export function bearerToken(header: string | undefined | null): string | undefined {
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
