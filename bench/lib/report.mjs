// Where results go: bench/results/<name>.json, with the machine they were measured on.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../results');

/** What every result file records about the run. */
export function machine() {
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadavgAtEnd: os.loadavg(),
    tmpdir: os.tmpdir(),
  };
}

/** Writes bench/results/<name>.json; returns its path. */
export function writeResults(name, results) {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  fs.writeFileSync(file, `${JSON.stringify({ benchmark: name, ...machine(), ...results }, null, 2)}\n`);
  return path.relative(process.cwd(), file) || file;
}

/**
 * A temp dir under os.tmpdir(); `remove()` deletes it (also run at exit) unless BENCH_KEEP_TMP
 * is set. Fails early if the file system has less than `needBytes` free.
 */
export function benchTempDir(name, needBytes = 0) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `haul-bench-${name}-`));
  const remove = () => {
    if (!process.env.BENCH_KEEP_TMP) fs.rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', remove);
  const { bavail, bsize } = fs.statfsSync(root);
  const free = bavail * bsize;
  if (free < needBytes) {
    fs.rmSync(root, { recursive: true, force: true });
    throw new Error(`${root}: ${(free / 2 ** 30).toFixed(1)} GiB free, need ${(needBytes / 2 ** 30).toFixed(1)} GiB`);
  }
  return { root, freeBytes: free, remove };
}
