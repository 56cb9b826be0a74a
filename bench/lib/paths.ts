import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where things are, from the compiled benchmarks' point of view: this file runs as
 * bench/dist/lib/paths.js (`tsc -b` compiles bench/ into bench/dist/).
 */
export const BENCH_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const REPO_ROOT = path.resolve(BENCH_DIR, '..');
/** The compiled benchmarks, baselines and tools. */
export const BENCH_DIST = path.join(BENCH_DIR, 'dist');
export const HAUL_DIST = path.join(REPO_ROOT, 'server/dist');
