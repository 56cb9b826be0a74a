import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { chromiumPath } from '../lib/browser-sdk.js';
import { envInt } from '../lib/env.js';
import { startHaul } from '../lib/haul.js';
import { BENCH_DIR, BENCH_DIST } from '../lib/paths.js';
import { benchTempDir } from '../lib/report.js';
import { tusDelete } from '../lib/tus-client.js';

/**
 * Where a browser upload's time goes (bench/e2e-upload.ts's Chromium targets, instrumented):
 * each XHR's send and the gap before it, WebCrypto calls (time, calls in flight), Blob reads and
 * Blob construction in the page, and the CPU each process and thread (Chromium's browser,
 * renderer, network service; Haul) spent during the upload, from /proc.
 *
 * node bench/dist/tools/browser-upload-profile.js   env: PROFILE_SIZE_MIB (64), PROFILE_ROUNDS (2), PROFILE_MODES (plain,encrypted)
 */

const MiB = 2 ** 20;
const TICK = 100; // USER_HZ

interface ThreadCpu {
  pid: number;
  kind: string;
  thread: string;
  ticks: number;
}

/** Every thread of `pids`: its process kind, thread name and CPU ticks so far. */
function threadTicks(pids: Map<number, string>): ThreadCpu[] {
  const out: ThreadCpu[] = [];
  for (const [pid, kind] of pids) {
    let tids: string[] = [];
    try {
      tids = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.push({ pid, kind, thread: name.replace(/\d+$/, ''), ticks: Number(fields[11]) + Number(fields[12]) });
      } catch {
        // thread gone
      }
    }
  }
  return out;
}

/** Descendants of `root` with a kind from their command line. */
function processTree(root: number): Map<number, string> {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  const out = new Map<number, string>();
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      let cmd = '';
      try {
        cmd = fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {
        continue;
      }
      const type = /--type=(\S+)/.exec(cmd)?.[1];
      const sub = /--utility-sub-type=(\S+)/.exec(cmd)?.[1];
      const kind = cmd.includes('server/dist/main.js') ? 'haul' : type ? `chromium-${type}${sub ? `:${sub.split('.')[0]}` : ''}` : /chrom/.test(cmd) ? 'chromium-browser' : 'other';
      out.set(child, kind);
      walk(child);
    }
  };
  walk(root);
  return out;
}

function cpuDelta(before: ThreadCpu[], after: ThreadCpu[]): Map<string, number> {
  const key = (t: ThreadCpu) => `${t.kind} ${t.thread}`;
  const sums = new Map<string, number>();
  const seen = new Map(before.map((t) => [`${t.pid}/${t.thread}/${t.ticks}`, t]));
  void seen;
  const prev = new Map<string, number>();
  for (const t of before) prev.set(key(t), (prev.get(key(t)) ?? 0) + t.ticks);
  for (const t of after) sums.set(key(t), (sums.get(key(t)) ?? 0) + t.ticks);
  for (const [k, v] of sums) sums.set(k, (v - (prev.get(k) ?? 0)) / TICK);
  return sums;
}

/** The page's instruments: XHR send → loadend, WebCrypto calls, Blob reads and constructions (runs in the page). */
function instrument(): void {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const g = globalThis as any;
  g.__prof = { events: [], inflight: 0, maxInflight: 0 };
  const P = g.__prof;
  const send = g.XMLHttpRequest.prototype.send;
  g.XMLHttpRequest.prototype.send = function (this: { addEventListener(type: string, f: () => void): void }, body: { size?: number; byteLength?: number } | null) {
    const start = performance.now();
    const size = body?.size ?? body?.byteLength ?? 0;
    this.addEventListener('loadend', () => P.events.push({ kind: `xhr:${body?.constructor?.name ?? 'null'}`, start, end: performance.now(), size }));
    return send.call(this, body);
  };
  const subtle = g.crypto.subtle;
  for (const name of ['encrypt', 'digest']) {
    const original = subtle[name].bind(subtle);
    subtle[name] = async (...args: Array<{ byteLength: number }>) => {
      const start = performance.now();
      P.inflight++;
      P.maxInflight = Math.max(P.maxInflight, P.inflight);
      const inflight = P.inflight;
      try {
        return await original(...args);
      } finally {
        P.inflight--;
        P.events.push({ kind: name, start, end: performance.now(), size: args[args.length - 1]!.byteLength, inflight });
      }
    };
  }
  const read = g.Blob.prototype.arrayBuffer;
  g.Blob.prototype.arrayBuffer = async function (this: unknown) {
    const start = performance.now();
    const out = await read.call(this);
    P.events.push({ kind: 'blob.arrayBuffer', start, end: performance.now(), size: out.byteLength });
    return out;
  };
  const Original = g.Blob;
  g.Blob = class extends Original {
    constructor(parts?: unknown[], options?: unknown) {
      const start = performance.now();
      super(parts, options);
      P.events.push({ kind: `new Blob(${parts?.length ?? 0} parts)`, start, end: performance.now(), size: (this as unknown as { size: number }).size });
    }
  };
}

interface Ev {
  kind: string;
  start: number;
  end: number;
  size: number;
  inflight?: number;
}

/** Total time covered by the intervals (union), ms. */
function covered(events: Ev[]): number {
  const sorted = [...events].sort((a, b) => a.start - b.start);
  let total = 0;
  let until = -Infinity;
  for (const e of sorted) {
    if (e.end <= until) continue;
    total += e.end - Math.max(e.start, until);
    until = e.end;
  }
  return total;
}

async function main(): Promise<void> {
  const sizeMiB = envInt('PROFILE_SIZE_MIB', 64);
  const rounds = envInt('PROFILE_ROUNDS', 2);
  const modes = (process.env.PROFILE_MODES ?? 'plain,encrypted').split(',') as Array<'plain' | 'encrypted' | 'encrypted-baseline'>;
  const tmp = benchTempDir('browser-upload-profile', 2 * sizeMiB * MiB);
  const haul = await startHaul({ dataDir: path.join(tmp.root, 'haul'), maxSize: 2 * sizeMiB * MiB });
  const { build } = await import('vite');
  const outDir = path.join(BENCH_DIST, 'browser-profile');
  await build({
    configFile: false,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, minify: false, lib: { entry: path.join(BENCH_DIR, 'browser', 'sdk-page.ts'), formats: ['iife'], name: 'HaulBench', fileName: () => 'sdk-page.js' } },
  });
  // PROFILE_BASELINE_SDK=<client-sdk/dist/index.js of another checkout>: its encrypted uploads too ("encrypted-baseline").
  const baselineSdk = process.env.PROFILE_BASELINE_SDK;
  if (baselineSdk) {
    await build({
      configFile: false,
      logLevel: 'warn',
      resolve: { alias: { '@haul/client': baselineSdk } },
      build: { outDir: `${outDir}-baseline`, emptyOutDir: true, minify: false, lib: { entry: path.join(BENCH_DIR, 'browser', 'sdk-page.ts'), formats: ['iife'], name: 'HaulBenchBaseline', fileName: () => 'sdk-page.js' } },
    });
  }
  const browser = await chromium.launch({
    executablePath: chromiumPath()!,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--enable-precise-memory-info', '--no-first-run'],
  });
  try {
    const page: Page = await browser.newPage();
    await page.goto(`${new URL(haul.endpoint).origin}/healthz`);
    await page.addScriptTag({ path: path.join(outDir, 'sdk-page.js') });
    if (baselineSdk) await page.addScriptTag({ path: path.join(`${outDir}-baseline`, 'sdk-page.js') });
    await page.evaluate(instrument);
    const summaries: string[] = [];
    const token = haul.headers.Authorization!.replace(/^Bearer /, '');
    for (let round = 0; round < rounds; round++) {
      for (const mode of modes) {
        await page.evaluate(() => {
          const p = (globalThis as unknown as { __prof: { events: unknown[]; maxInflight: number } }).__prof;
          p.events = [];
          p.maxInflight = 0;
        });
        const pids = processTree(process.pid);
        const before = threadTicks(pids);
        const r = await page.evaluate(
          ({ o, bundle }) => (globalThis as unknown as Record<string, { upload(x: typeof o): Promise<{ ms: number; url: string }> }>)[bundle]!.upload(o),
          { o: { endpoint: haul.endpoint, token, sizeMiB, mode: mode === 'plain' ? 'plain' : 'encrypted' }, bundle: mode === 'encrypted-baseline' ? 'HaulBenchBaseline' : 'HaulBench' },
        );
        const after = threadTicks(processTree(process.pid));
        const prof = await page.evaluate(() => (globalThis as unknown as { __prof: { events: Ev[]; maxInflight: number } }).__prof);
        await tusDelete(r.url, haul);
        const t0 = Math.min(...prof.events.map((e) => e.start));
        const xhrs = prof.events.filter((e) => e.kind.startsWith('xhr')).sort((a, b) => a.start - b.start);
        const summary = `${mode} ${(sizeMiB / (r.ms / 1000)).toFixed(1)}`;
        summaries.push(summary);
        console.log(`\n== ${mode} ${sizeMiB} MiB round ${round + 1}: ${r.ms.toFixed(0)} ms, ${(sizeMiB / (r.ms / 1000)).toFixed(1)} MiB/s; max WebCrypto calls in flight ${prof.maxInflight}`);
        let prevEnd: number | undefined;
        for (const x of xhrs) {
          console.log(`  ${x.kind.padEnd(22)} ${(x.size / MiB).toFixed(2).padStart(6)} MiB  at ${(x.start - t0).toFixed(0).padStart(6)}  send→loadend ${(x.end - x.start).toFixed(0).padStart(5)} ms  gap before ${prevEnd === undefined ? '-' : (x.start - prevEnd).toFixed(0)} ms`);
          prevEnd = x.end;
        }
        const kinds = [...new Set(prof.events.map((e) => e.kind.replace(/\(\d+ parts\)/, '(n)')))];
        for (const kind of kinds) {
          const evs = prof.events.filter((e) => e.kind.replace(/\(\d+ parts\)/, '(n)') === kind);
          const sum = evs.reduce((n, e) => n + (e.end - e.start), 0);
          console.log(`  ${kind.padEnd(22)} ${String(evs.length).padStart(5)} calls  ${(evs.reduce((n, e) => n + e.size, 0) / MiB).toFixed(1).padStart(7)} MiB  busy (union) ${covered(evs).toFixed(0).padStart(6)} ms  sum ${sum.toFixed(0)} ms`);
        }
        const delta = [...cpuDelta(before, after)].filter(([, s]) => s >= 0.02).sort((a, b) => b[1] - a[1]);
        const perKind = new Map<string, number>();
        for (const [k, s] of delta) perKind.set(k.split(' ')[0]!, (perKind.get(k.split(' ')[0]!) ?? 0) + s);
        console.log(`  CPU s by process: ${[...perKind].map(([k, s]) => `${k} ${s.toFixed(2)}`).join(', ')}`);
        console.log(`  CPU s by thread: ${delta.slice(0, 14).map(([k, s]) => `${k} ${s.toFixed(2)}`).join('; ')}`);
      }
    }
    console.log(`\nMiB/s per upload: ${summaries.join(' | ')}`);
  } finally {
    await browser.close();
    await haul.child.stop();
    tmp.remove();
  }
}

await main();
