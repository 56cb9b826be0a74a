import type postgres from 'postgres';

/**
 * How the PostgreSQL connections of one Haul process are budgeted (README, "Several instances").
 * Every pool Haul opens takes its options from here, so the budget is one sum:
 *
 * - queries: at most `queryPoolMax` (DATABASE_POOL_MAX);
 * - the tus locker: one session holding every upload lock of the process, plus one LISTEN
 *   connection for release requests (tus/postgres-locker.ts);
 * - status events: one LISTEN connection and one for NOTIFY (processing/status-events.ts);
 * - readiness: one, for /readyz (http/readiness.ts); one more with PROBE_PORT, the probe thread's
 *   own (http/probe-listener.ts).
 *
 * Every connection but the two LISTEN ones closes after `idleTimeoutSeconds` without use
 * (DATABASE_IDLE_TIMEOUT_SECONDS), so an idle instance gives its connections back.
 */
export interface PoolSettings {
  /** Connections of the query pool (DATABASE_POOL_MAX). */
  queryPoolMax: number;
  /** A connection unused this long is closed (DATABASE_IDLE_TIMEOUT_SECONDS). */
  idleTimeoutSeconds: number;
}

export const DEFAULT_POOL_SETTINGS: PoolSettings = { queryPoolMax: 10, idleTimeoutSeconds: 10 };

/**
 * Each pool's `application_name`, so that `pg_stat_activity` shows what holds a connection (and
 * the tests count them). Its LISTEN connection carries its pool's name.
 */
export const APPLICATION_NAMES = {
  queries: 'haul-queries',
  locks: 'haul-locks',
  lockRequests: 'haul-lock-requests',
  events: 'haul-events',
  readiness: 'haul-readiness',
} as const;

/** Connections beyond the query pool that one server process may hold (locker 2, events 2, readiness 1). */
export const CONNECTIONS_BESIDE_QUERIES = 5;

/**
 * The postgres.js options every pool shares: named, closed when idle, and failing fast when the
 * database is down, so requests answer 503 instead of hanging.
 */
export function poolOptions(
  name: (typeof APPLICATION_NAMES)[keyof typeof APPLICATION_NAMES],
  { max, idleTimeoutSeconds, connectTimeoutSeconds = 5 }: { max: number; idleTimeoutSeconds: number; connectTimeoutSeconds?: number },
): postgres.Options<Record<string, postgres.PostgresType>> {
  return {
    max,
    // Given here, it takes precedence over an `idle_timeout` in the URL (the embedded URL has one).
    idle_timeout: idleTimeoutSeconds,
    connect_timeout: connectTimeoutSeconds,
    onnotice: () => {},
    connection: { application_name: name },
  };
}
