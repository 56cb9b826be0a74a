import { CONVERSATION_PATTERN, conversationsOf } from './conversations.js';

/**
 * Who is signed in: a user name and their conversations (dev mode, the server issues tokens
 * saying so), or a bearer token (jwt mode, conversations from its `scopes` claim).
 */
export type Credentials =
  | { mode: 'dev'; user: string; conversations: string[] }
  | { mode: 'jwt'; token: string; user: string; conversations: string[] };

/** The server's rule for dev user names (POST /api/dev/token). */
export const DEV_USER_PATTERN = /^[A-Za-z0-9._@+-]{1,64}$/;

const KEY = 'haul-demo:credentials';

/**
 * A dev user name is kept in localStorage, so a reload (the resume demo) keeps you signed in;
 * a real token only in sessionStorage, so it does not outlive the tab.
 */
export function loadCredentials(): Credentials | null {
  const text = localStorage.getItem(KEY) ?? sessionStorage.getItem(KEY);
  if (!text) return null;
  try {
    const parsed = JSON.parse(text) as Partial<Credentials>;
    const conversations = Array.isArray(parsed.conversations) ? parsed.conversations.filter((c) => typeof c === 'string' && CONVERSATION_PATTERN.test(c)) : [];
    if (parsed.mode === 'dev' && typeof parsed.user === 'string' && DEV_USER_PATTERN.test(parsed.user)) return { mode: 'dev', user: parsed.user, conversations };
    if (parsed.mode === 'jwt' && typeof parsed.token === 'string' && typeof parsed.user === 'string') {
      return { mode: 'jwt', token: parsed.token, user: parsed.user, conversations };
    }
  } catch {
    // A damaged entry: treated as signed out below.
  }
  clearCredentials();
  return null;
}

export function saveCredentials(credentials: Credentials): void {
  clearCredentials();
  (credentials.mode === 'dev' ? localStorage : sessionStorage).setItem(KEY, JSON.stringify(credentials));
}

export function clearCredentials(): void {
  localStorage.removeItem(KEY);
  sessionStorage.removeItem(KEY);
}

/** A JWT's claims, unverified (the server verifies tokens; this is for display only). */
function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) return {};
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    const claims: unknown = JSON.parse(json);
    return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : {};
  } catch {
    // Not a JWT we can read: no claims.
    return {};
  }
}

/** A name to show for a JWT: its `sub` (or `email`) claim. */
export function jwtSubject(token: string): string | undefined {
  const { sub, email } = jwtClaims(token);
  if (typeof email === 'string') return email;
  return typeof sub === 'string' ? sub : undefined;
}

/** The conversations a JWT's `scopes` claim names (the server's JWT_SCOPES_CLAIM default). */
export function jwtConversations(token: string): string[] {
  const { scopes } = jwtClaims(token);
  return Array.isArray(scopes) ? conversationsOf(scopes.filter((s): s is string => typeof s === 'string')) : [];
}
