/** Who is signed in: a user name (dev mode, the server issues tokens) or a bearer token (jwt mode). */
export type Credentials = { mode: 'dev'; user: string } | { mode: 'jwt'; token: string; user: string };

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
    if (parsed.mode === 'dev' && typeof parsed.user === 'string' && DEV_USER_PATTERN.test(parsed.user)) return { mode: 'dev', user: parsed.user };
    if (parsed.mode === 'jwt' && typeof parsed.token === 'string' && typeof parsed.user === 'string') return { mode: 'jwt', token: parsed.token, user: parsed.user };
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

/** A name to show for a JWT: its `sub` (or `email`) claim; the token is not verified here, the server does that. */
export function jwtSubject(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    const claims = JSON.parse(json) as { sub?: unknown; email?: unknown };
    if (typeof claims.email === 'string') return claims.email;
    if (typeof claims.sub === 'string') return claims.sub;
  } catch {
    // Not a JWT we can read: the caller shows a generic name.
  }
  return undefined;
}
