/** BENCH_* settings from the environment, validated, with defaults: read once at the start of a benchmark. */

/** A positive integer, or `fallback` when unset or empty. */
export function envInt(key: string, fallback: number): number {
  const raw = process.env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${key} must be a positive integer, got "${raw}"`);
  return value;
}

/** A comma-separated list, or `fallback` when unset. Set but empty ("") means an empty list. */
export function envList(key: string, fallback: readonly string[]): string[] {
  const raw = process.env[key];
  if (raw === undefined) return [...fallback];
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

/** A comma-separated list of positive integers (sizes, counts), or `fallback` when unset. */
export function envIntList(key: string, fallback: readonly number[]): number[] {
  if (process.env[key] === undefined) return [...fallback];
  return envList(key, []).map((item) => {
    const value = Number(item);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${key}: "${item}" is not a positive integer`);
    return value;
  });
}

/** A comma-separated subset of `allowed` (in the order given), or `fallback` when unset. */
export function envChoices<K extends string>(key: string, allowed: readonly K[], fallback: readonly K[] = allowed): K[] {
  const isAllowed = (item: string): item is K => (allowed as readonly string[]).includes(item);
  return envList(key, fallback).map((item) => {
    if (!isAllowed(item)) throw new Error(`${key}: unknown "${item}" (${allowed.join(', ')})`);
    return item;
  });
}

/**
 * "KEY=VALUE,…" (e.g. BENCH_HAUL_ENV: extra settings for the servers a benchmark starts), or {} when
 * unset. A value may hold "=" (split at the first one); a pair without "=" is refused.
 */
export function envSettings(key: string): Record<string, string> {
  return Object.fromEntries(
    envList(key, []).map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`${key}: "${pair}" is not KEY=VALUE`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}
