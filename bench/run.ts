import type { Benchmark } from './lib/harness.js';

/**
 * Runs the benchmarks: `npm run bench` (all) or `npm run bench -- ingest-disk` (those whose name
 * contains one of the arguments). Settings come from BENCH_* variables, documented at the top of
 * each benchmark's file. Results go to bench/results/<name>.md and .json.
 */

const BENCHMARKS: Record<string, () => Promise<{ benchmark: Benchmark }>> = {
  'e2e-upload': () => import('./e2e-upload.js'),
  'ingest-checksum': () => import('./ingest-checksum.js'),
  'ingest-disk': () => import('./ingest-disk.js'),
  'ingest-s3': () => import('./ingest-s3.js'),
  liveness: () => import('./liveness.js'),
  parallel: () => import('./parallel.js'),
  wan: () => import('./wan.js'),
  load: () => import('./load.js'),
  'scale-out': () => import('./scale-out.js'),
  processing: () => import('./processing.js'),
  'media-previews': () => import('./media-previews.js'),
};

const names = Object.keys(BENCHMARKS);
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run bench [-- filter...]\nbenchmarks: ${names.join(', ')}`);
  process.exit(0);
}
// A filter that names a benchmark runs that one only (`load` is not also `e2e-upload`); otherwise every name containing it.
const matches = (name: string, filter: string) => (names.includes(filter) ? name === filter : name.includes(filter));
const selected = names.filter((name) => args.length === 0 || args.some((filter) => matches(name, filter)));
if (selected.length === 0) {
  console.error(`no benchmark matches ${args.join(' ')}; available: ${names.join(', ')}`);
  process.exit(2);
}
if (typeof globalThis.gc !== 'function') console.warn('note: run with --expose-gc (npm run bench does) to collect garbage between samples');

let failed = false;
for (const name of selected) {
  const { benchmark } = await BENCHMARKS[name]!();
  console.log(`\n== ${benchmark.name}: ${benchmark.description}\n`);
  try {
    await benchmark.run((line) => console.log(line));
  } catch (error) {
    failed = true;
    console.error(`\n${name} failed: ${error instanceof Error ? error.stack : String(error)}`);
  }
}
process.exit(failed ? 1 : 0);
