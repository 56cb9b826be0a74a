/**
 * The narrow SQL surface Haul needs, over PostgreSQL: a server given by DATABASE_URL, or the
 * embedded cluster Haul runs itself under DATA_DIR. The same SQL and semantics either way.
 */
import type { PoolSettings } from './pool-settings.js';

export type Row = Record<string, unknown>;

export interface Queryable {
  query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'embedded-postgres';
  /** For clients that need connections of their own (the tus locker, LISTEN). */
  readonly url: string;
  /** The connection budget those clients follow too (DATABASE_POOL_MAX, DATABASE_IDLE_TIMEOUT_SECONDS). */
  readonly pools: PoolSettings;
  /** Runs `fn` in one transaction; rolls back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** int8/numeric columns come back as strings; counts may also be numbers. */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint' || typeof value === 'string') return Number(value);
  throw new TypeError(`expected a number, got ${typeof value}`);
}

export const toNumberOrNull = (value: unknown) => (value === null || value === undefined ? null : toNumber(value));

export function toDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(String(value));
}

export const toDateOrNull = (value: unknown) => (value === null || value === undefined ? null : toDate(value));
