import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Ratio, Stat } from './harness.js';
import { BENCH_DIR } from './paths.js';

/**
 * What a benchmark leaves behind: tables on the console, and in bench/results/ a `<name>.md`
 * (the markdown table the README quotes, with its caption) and a `<name>.json` (settings,
 * machine, every sample, the statistics).
 */

export const RESULTS_DIR = path.join(BENCH_DIR, 'results');

// ---- formatting

export const fixed = (value: number | undefined, digits = 0) => (value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : '–');

/** "1424 (647–1712)": median (min–max). */
export const range = (stat: Stat | undefined, digits = 0) =>
  stat ? `${fixed(stat.median, digits)} (${fixed(stat.min, digits)}–${fixed(stat.max, digits)})` : '–';

/** "119%": the ratio of medians. */
export const percent = (ratio: Ratio | undefined) => (ratio ? `${fixed(ratio.ofMedians * 100)}%` : '–');

/** "85–105%": the per-round range. */
export const percentRange = (ratio: Ratio | undefined) => (ratio ? `${fixed(ratio.pairedMin * 100)}–${fixed(ratio.pairedMax * 100)}%` : '–');

/** "0.93× (0.91–0.99)": the ratio of medians and the per-round range. */
export const times = (ratio: Ratio | undefined) =>
  ratio ? `${fixed(ratio.ofMedians, 2)}× (${fixed(ratio.pairedMin, 2)}–${fixed(ratio.pairedMax, 2)})` : '–';

/** "200 MiB", "1 GiB". */
export const sizeLabel = (mib: number) => (mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`);

export interface Table {
  header: string[];
  rows: Array<Array<string | number>>;
}

/** A plain-text table with right-aligned columns after the first. */
export function textTable({ header, rows }: Table): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells: ReadonlyArray<string | number>) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function markdownTable({ header, rows }: Table): string {
  const line = (cells: ReadonlyArray<string | number>) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

// ---- the run's context

/** What every result records about the machine. */
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

/** "node v20.20.2, 2 CPUs, load 1.20 0.80 0.50": for the first lines of a run's log. */
export const machineLine = () =>
  `node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`;

export interface TempDir {
  root: string;
  freeBytes: number;
  remove(): void;
}

/**
 * A temp dir under os.tmpdir(); `remove()` deletes it (also run at exit) unless BENCH_KEEP_TMP
 * is set. Fails early if the file system has less than `needBytes` free.
 */
export function benchTempDir(name: string, needBytes = 0): TempDir {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `haul-bench-${name}-`));
  const remove = () => {
    if (!process.env.BENCH_KEEP_TMP) fs.rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', remove);
  const { bavail, bsize } = fs.statfsSync(root);
  const freeBytes = bavail * bsize;
  if (freeBytes < needBytes) {
    fs.rmSync(root, { recursive: true, force: true });
    throw new Error(`${root}: ${(freeBytes / 2 ** 30).toFixed(1)} GiB free, need ${(needBytes / 2 ** 30).toFixed(1)} GiB`);
  }
  return { root, freeBytes, remove };
}

// ---- the report

export interface Report {
  name: string;
  /** Console tables, each under its title. */
  text: Array<{ title: string; table: Table }>;
  /** The table for the README, and the sentence under it saying how it was measured. */
  markdown: { table: Table; caption: string };
  /** Settings, statistics and samples for bench/results/<name>.json. */
  json: Record<string, unknown>;
}

/** Logs the tables and writes bench/results/<name>.md and .json. */
export function writeReport(report: Report, log: (line: string) => void): void {
  for (const { title, table } of report.text) log(`\n${title}\n${textTable(table)}`);
  const markdown = `${markdownTable(report.markdown.table)}\n\n${report.markdown.caption}`;
  log(`\nMarkdown:\n\n${markdown}`);
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const base = path.join(RESULTS_DIR, report.name);
  fs.writeFileSync(`${base}.md`, `${markdown}\n`);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify({ benchmark: report.name, ...machine(), ...report.json, markdown }, null, 2)}\n`);
  log(`\nwrote ${path.relative(process.cwd(), base)}.md and .json`);
}
