import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Static bearer tokens of server-to-server callers (SERVICE_TOKENS=`name:token,name:token`): the
 * application's backend reading, listing, deleting and re-scoping any upload. A token is at least
 * 32 characters of the bearer-token alphabet; names are what the audit log records.
 */
export interface ServiceToken {
  name: string;
  token: string;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const TOKEN = /^[A-Za-z0-9._~+/=-]{32,512}$/;

/** `name:token,…` → the tokens, or what is wrong (never echoing a token). */
export function parseServiceTokens(text: string | undefined): { tokens: ServiceToken[] } | { problem: string } {
  const tokens: ServiceToken[] = [];
  for (const [index, entry] of (text ?? '').split(',').map((e) => e.trim()).filter(Boolean).entries()) {
    const colon = entry.indexOf(':');
    const name = entry.slice(0, colon);
    const token = entry.slice(colon + 1);
    if (colon < 0 || !NAME.test(name)) return { problem: `entry ${index + 1}: expected name:token with a name of letters, digits and . _ -` };
    if (!TOKEN.test(token)) return { problem: `token of "${name}": at least 32 characters of A-Z a-z 0-9 . _ ~ + / = -` };
    if (tokens.some((t) => t.name === name)) return { problem: `"${name}" is listed twice` };
    if (tokens.some((t) => t.token === token)) return { problem: `"${name}" reuses another service's token` };
    tokens.push({ name, token });
  }
  return { tokens };
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * `token` → the service's name, or undefined. Compared in constant time: digests of equal length,
 * every configured token compared whatever matched before.
 */
export function createServiceTokenMatcher(tokens: readonly ServiceToken[]) {
  const known = tokens.map((t) => ({ name: t.name, digest: digest(t.token) }));
  return (token: string): string | undefined => {
    if (known.length === 0) return undefined;
    const given = digest(token);
    let match: string | undefined;
    for (const entry of known) if (timingSafeEqual(given, entry.digest)) match = entry.name;
    return match;
  };
}
