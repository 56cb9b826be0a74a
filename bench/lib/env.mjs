// BENCH_* settings from the environment, validated, with defaults.

/** A positive integer, or `fallback` when unset or empty. */
export function envInt(key, fallback) {
  const raw = process.env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${key} must be a positive integer, got "${raw}"`);
  return value;
}

/** A comma-separated list, or `fallback` when unset. Set but empty ("") means an empty list. */
export function envList(key, fallback) {
  const raw = process.env[key];
  if (raw === undefined) return fallback;
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

/** A comma-separated list of positive integers (sizes, counts), or `fallback` when unset. */
export function envIntList(key, fallback) {
  const list = envList(key, undefined);
  if (list === undefined) return fallback;
  return list.map((item) => {
    const value = Number(item);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${key}: "${item}" is not a positive integer`);
    return value;
  });
}

/** "1", "true", "yes" → true; unset → fallback. */
export function envFlag(key, fallback = false) {
  const raw = process.env[key];
  if (raw === undefined || raw === '') return fallback;
  return /^(1|true|yes)$/i.test(raw);
}
