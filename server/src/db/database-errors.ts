import { HaulError } from '../errors.js';

/**
 * SQLSTATEs that say "PostgreSQL cannot serve this connection now", not "this query is wrong":
 * class 08 (connection exception), class 53 (insufficient resources — 53300 too_many_connections
 * is "sorry, too many clients already", and also a role's or a database's CONNECTION LIMIT),
 * 57P01–57P03 (the server shutting down, crashed, or not accepting connections yet).
 */
const UNAVAILABLE_CLASSES = ['08', '53'];
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03']);
/** postgres.js's own codes for a connection that could not be made or was lost. */
const CLIENT_CODES = new Set(['CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECTION_ENDED']);

/** Whether `error` is PostgreSQL being out of reach or out of connections: the request may succeed if retried. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  if (typeof code !== 'string') return false;
  if (name === 'PostgresError') return UNAVAILABLE_CLASSES.includes(code.slice(0, 2)) || UNAVAILABLE_STATES.has(code);
  return CLIENT_CODES.has(code);
}

/** How long a client is asked to wait before retrying: connections come back as requests end. */
const RETRY_AFTER_SECONDS = '2';

/**
 * A database that cannot be reached, or refuses connections, as 503 DATABASE_UNAVAILABLE with
 * Retry-After, never a 500: nothing about the request was wrong, and a tus client that retries
 * resumes from the offset the next HEAD reports (every byte stored so far is kept).
 */
export function databaseUnavailable(error: unknown): HaulError | undefined {
  if (!isDatabaseUnavailable(error)) return undefined;
  return new HaulError('DATABASE_UNAVAILABLE', undefined, { cause: error, headers: { 'Retry-After': RETRY_AFTER_SECONDS } });
}
