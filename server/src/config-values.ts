import { z } from 'zod';

/** The value types of environment variables, shared by the schema parts of config.ts. */

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};

/** "10GiB", "25 MiB", "1048576" → bytes. */
export function parseByteSize(input: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!match) return undefined;
  const unit = SIZE_UNITS[match[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

const toByteSize = (value: string, ctx: z.RefinementCtx) => {
  const bytes = parseByteSize(value);
  if (bytes === undefined || bytes <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected a positive size such as 10GiB or 1048576, got "${value}"` });
    return z.NEVER;
  }
  return bytes;
};

export const byteSize = (fallback: string) => z.string().default(fallback).transform(toByteSize);

/** A size that may be left unset (or empty): undefined then. */
export const optionalByteSize = z
  .string()
  .optional()
  .transform((value, ctx) => (value === undefined || value.trim() === '' ? undefined : toByteSize(value, ctx)));

export const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);

export const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1' || value === 'yes');

export const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

/** "image=604800,application/pdf=86400" → [["image", 604800], …] (empty or unset: none). */
export const secondsByName = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const entries: Array<[string, number]> = [];
    for (const item of value.split(',').map((i) => i.trim()).filter(Boolean)) {
      const match = /^([^=\s]+)\s*=\s*(\d+)$/.exec(item);
      if (!match) {
        ctx.addIssue({ code: 'custom', message: `expected name=seconds pairs separated by commas, got "${item}"` });
        return z.NEVER;
      }
      entries.push([match[1]!, Number(match[2])]);
    }
    return entries;
  });

/** Seconds that may be left unset: undefined then. */
export const optionalSeconds = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value.trim() === '') return undefined;
    if (!/^\d+$/.test(value.trim())) {
      ctx.addIssue({ code: 'custom', message: `expected a whole number of seconds, got "${value}"` });
      return z.NEVER;
    }
    return Number(value);
  });
