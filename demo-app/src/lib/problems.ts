import { HaulError, isHaulError, SERVER_ERROR_CODES, type HaulErrorCode } from '@haul/client';

/** An error as the page shows it: a sentence that says what happened and what to do. */
export interface Problem {
  message: string;
  /** The fix is signing in again (the token was refused or could not be had). */
  signIn?: boolean;
  /** The upload is gone on the server: drop it from the page. */
  gone?: boolean;
}

/** What the user was doing, for the sentence: "Could not download photo.png: …". */
export interface Attempt {
  /** e.g. "download photo.png" */
  action: string;
  /** For rate limits: "downloads", "share links". */
  countable?: string;
}

const AUTH_CODES: ReadonlySet<string> = new Set(['AUTH_REQUIRED', 'AUTH_INVALID', 'TOKEN_UNAVAILABLE', 'DEV_AUTH_DISABLED']);
const SERVER_TROUBLE: ReadonlySet<string> = new Set(['STORAGE_UNAVAILABLE', 'DATABASE_UNAVAILABLE', 'SHUTTING_DOWN', 'INTERNAL']);

const seconds = (error: HaulError, fallback: number) => Math.max(1, Math.ceil(error.retryAfterSeconds ?? fallback));

export function describeError(error: unknown, attempt: Attempt): Problem {
  if (!isHaulError(error)) {
    const text = error instanceof Error ? error.message : String(error);
    return { message: `Could not ${attempt.action}: ${text}` };
  }
  const code = error.code;
  if (AUTH_CODES.has(code)) {
    if (code === 'TOKEN_UNAVAILABLE') {
      return { message: `Signed out: no token could be had from the server (${error.message}) — check that it runs, then sign in again.`, signIn: true };
    }
    return { message: 'Signed out: your token expired or was refused — sign in again.', signIn: true };
  }
  if (code === 'RATE_LIMITED' || code === 'TOO_MANY_UPLOADS') {
    const what = code === 'TOO_MANY_UPLOADS' ? 'unfinished uploads' : (attempt.countable ?? 'requests');
    const extra = code === 'TOO_MANY_UPLOADS' ? ' — finish or delete some first' : '';
    return { message: `Too many ${what}: try again in ${seconds(error, 60)} s${extra}.` };
  }
  if (code === 'UPLOAD_NOT_FOUND' || code === 'NOT_FOUND' || code === 'UPLOAD_GONE') {
    return { message: `Could not ${attempt.action}: it no longer exists on the server (deleted or expired), so it was removed from the list.`, gone: true };
  }
  const timedOut = code === 'ABORTED' && error.cause instanceof DOMException && error.cause.name === 'TimeoutError';
  if (code === 'NETWORK_ERROR' || code === 'TIMEOUT' || timedOut) {
    return { message: `Could not ${attempt.action}: the server did not answer — check your connection and try again.` };
  }
  if (SERVER_TROUBLE.has(code) || error.status >= 500) {
    return { message: `Could not ${attempt.action}: the server is having trouble (${error.message}) — try again in a moment.` };
  }
  // The server's own sentence says it best (UPLOAD_NOT_READY, UPLOAD_NOT_DOWNLOADABLE, LINK_EXPIRED, …).
  return { message: `Could not ${attempt.action}: ${error.message}.`.replace(/\.\.$/, '.') };
}

const KNOWN_CODES: ReadonlySet<string> = new Set(SERVER_ERROR_CODES);

/** A server's error answer → HaulError, read the way the SDK reads it: `{ code, message }`, `Retry-After`. */
export function errorFromBody(status: number, text: string, retryAfter: string | null): HaulError {
  let code: string | undefined;
  let message: string | undefined;
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (typeof body.code === 'string') code = body.code;
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // Not JSON (a proxy's page): the status speaks for itself.
  }
  const seconds = Number(retryAfter);
  return new HaulError(code !== undefined && KNOWN_CODES.has(code) ? (code as HaulErrorCode) : status === 0 ? 'NETWORK_ERROR' : 'UNKNOWN', message ?? (status ? `HTTP ${status}` : 'no response'), {
    status,
    serverCode: code,
    retryAfterSeconds: retryAfter !== null && Number.isFinite(seconds) && seconds > 0 ? seconds : undefined,
  });
}

/** A failed fetch response → HaulError. */
export async function errorFromResponse(response: Response): Promise<HaulError> {
  const text = await response.text().catch(() => '');
  return errorFromBody(response.status, text, response.headers.get('retry-after'));
}
