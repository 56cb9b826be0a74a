// Runs the benchmarks: `npm run bench` (all) or `node --expose-gc bench/run.mjs ingest-disk`
// (only those whose name contains one of the arguments). Settings come from BENCH_* env vars,
// documented at the top of each benchmark file. Results go to bench/results/<name>.json.
const BENCHMARKS = {
  'ingest-disk': () => import('./ingest-disk.mjs'),
  'ingest-s3': () => import('./ingest-s3.mjs'),
  parallel: () => import('./parallel.mjs'),
  processing: () => import('./processing.mjs'),
};

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: node --expose-gc bench/run.mjs [filter...]\nbenchmarks: ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(0);
}
const selected = Object.keys(BENCHMARKS).filter((name) => args.length === 0 || args.some((f) => name.includes(f)));
if (selected.length === 0) {
  console.error(`no benchmark matches ${args.join(' ')}; available: ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(2);
}
if (typeof globalThis.gc !== 'function') console.warn('note: run with --expose-gc (npm run bench does) to collect garbage between samples');

let failed = false;
for (const name of selected) {
  const bench = await BENCHMARKS[name]();
  console.log(`\n== ${name}: ${bench.description}\n`);
  try {
    await bench.run();
  } catch (error) {
    failed = true;
    console.error(`\n${name} failed: ${error?.stack ?? error}`);
  }
}
process.exit(failed ? 1 : 0);
