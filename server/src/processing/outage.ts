/**
 * Outages cost time, never files (issue 13, item 4). A processing attempt fails either because
 * of the file (corrupt, hostile, a decoder crash) — that spends one of PROCESSING_MAX_ATTEMPTS —
 * or because a service it needs (clamd, storage, the database) cannot be reached: then the file
 * waits, with a capped back-off, as long as the outage lasts, and no attempt is spent.
 */

export type Service = 'clamd' | 'storage' | 'database';

/** A service the file needs could not be reached: nothing is known about the file. */
export class ServiceUnavailableError extends Error {
  override name = 'ServiceUnavailableError';
  constructor(
    readonly service: Service,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Socket-level errors: the other side is not there (or went away), whatever the client library. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED',
  // postgres.js
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
]);
/** PostgreSQL SQLSTATE classes 08 (connection exception) and 57P0x (the server is shutting down / cannot connect now). */
const POSTGRES_UNAVAILABLE = /^(08|57P0)/;

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, errno } = error as { code?: unknown; errno?: unknown };
  return typeof code === 'string' ? code : typeof errno === 'string' ? errno : undefined;
}

/**
 * An S3 5xx/throttling answer: the store is there but cannot serve now. Or an S3 request that
 * stalled past S3_STALL_TIMEOUT_MS (s3-request-handler.ts): the SDK's TimeoutError, which carries
 * the SDK's `$metadata` but no status.
 */
function isStoreUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { $metadata, name, $retryable } = error as { $metadata?: { httpStatusCode?: number }; name?: string; $retryable?: unknown };
  const status = $metadata?.httpStatusCode;
  if (name === 'TimeoutError' && $metadata !== undefined) return true;
  return (status !== undefined && (status >= 500 || status === 429)) || name === 'SlowDown' || name === 'ServiceUnavailable' || $retryable !== undefined;
}

/**
 * postgres.js attaches the statement to every error it rejects a query with (`query`, not
 * enumerable), socket errors included; the AWS SDK's errors never carry one.
 */
const fromPostgres = (error: object) => 'query' in error || 'parameters' in error;

/** Which service an error says is unreachable, or undefined if the error may be about the file. */
export function unavailableService(error: unknown): Service | undefined {
  for (let cause = error, depth = 0; cause !== undefined && depth < 5; cause = (cause as { cause?: unknown }).cause, depth++) {
    if (cause instanceof ServiceUnavailableError) return cause.service;
    const code = codeOf(cause);
    if (code && NETWORK_CODES.has(code)) return code.startsWith('CONN') || fromPostgres(cause as object) ? 'database' : 'storage';
    if (code && POSTGRES_UNAVAILABLE.test(code)) return 'database';
    if (isStoreUnavailable(cause)) return 'storage';
    if (typeof cause !== 'object' || cause === null) break;
  }
  return undefined;
}

/**
 * Runs database work whose failure to reach PostgreSQL must read as a database outage (in the
 * logs and `haul_processing_service_waits_total{service="database"}`), not as a storage one: a
 * refused connection is ECONNREFUSED whichever service refused it.
 */
export async function onDatabase<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (unavailableService(error) === undefined) throw error;
    throw new ServiceUnavailableError('database', `the database is unreachable: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

const OUTAGE_FIRST_WAIT_MS = 1_000;
/** However long the outage, a waiting file is looked at again at least this often. */
export const OUTAGE_MAX_WAIT_MS = 15_000;

/** Capped exponential back-off with jitter for the n-th consecutive wait (1, 2, 4, 8, 15, 15 … s). */
export const outageWaitMs = (consecutive: number) =>
  Math.min(OUTAGE_MAX_WAIT_MS, OUTAGE_FIRST_WAIT_MS * 2 ** Math.max(0, consecutive - 1)) * (0.8 + Math.random() * 0.4);
