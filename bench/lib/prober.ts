import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { request } from './http-client.js';
import { BENCH_DIST } from './paths.js';

/**
 * Health probes from a process of their own (prober-child.ts), and what the server says about its
 * event loop meanwhile (its /metrics). Together they tell apart a probe that waited for the
 * server's loop from one that waited for the machine (or for the load generator, which is why
 * the probes do not run in the benchmark's own process).
 */

export interface ProbeResults {
  /** Milliseconds per probe, by path, in the order sent. */
  latencies: Record<string, number[]>;
  failures: string[];
}

export interface Prober {
  /** Starts probing (after the child is up, so its start-up is not measured). */
  start(): void;
  stop(): Promise<ProbeResults>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Forks the prober: `paths` round-robin on fresh connections every `intervalMs`. */
export async function startProber(origin: string, paths: readonly string[], intervalMs: number): Promise<Prober> {
  const child = fork(path.join(BENCH_DIST, 'lib/prober-child.js'), [origin, String(intervalMs), paths.join(',')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    live.delete(child);
    resolve();
  }));
  let results: ProbeResults | undefined;
  child.on('message', (message: { ready?: boolean } & Partial<ProbeResults>) => {
    if (message.latencies) results = { latencies: message.latencies, failures: message.failures ?? [] };
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('error', reject);
    void exited.then(() => reject(new Error('the prober exited before it was ready')));
  });
  return {
    start: () => child.send({ probe: true }),
    async stop() {
      child.send({ stop: true });
      await exited;
      if (!results) throw new Error('the prober exited without results');
      return results;
    },
  };
}

/** The server's own view of a phase, from prom-client's default metrics (GET /metrics, no METRICS_TOKEN). */
export interface ServerLoop {
  /** Event-loop delay over the phase (monitorEventLoopDelay, 10 ms resolution), ms. */
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  /** Garbage collection during the phase: pauses' total ms and count (all kinds), and of major (mark-compact) ones. */
  gcMs: number;
  gcCount: number;
  majorGcMs: number;
  majorGcCount: number;
  /** CPU seconds the server used during the phase. */
  cpuS: number;
}

type Scrape = Map<string, number>;

async function scrape(origin: string): Promise<Scrape> {
  const res = await request(`${origin}/metrics`, { timeoutMs: 30_000 });
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${res.body.slice(0, 200)}`);
  const values = new Map<string, number>();
  for (const match of res.body.matchAll(/^(nodejs_eventloop_lag_\w+|nodejs_gc_duration_seconds_(?:sum|count)\{kind="\w+"\}|process_cpu_seconds_total) (\S+)$/gm)) {
    values.set(match[1]!, Number(match[2]));
  }
  return values;
}

/**
 * Call at the start of a phase (the scrape also resets prom-client's event-loop delay
 * histogram), and the returned function at its end.
 */
export async function watchServerLoop(origin: string): Promise<() => Promise<ServerLoop>> {
  const before = await scrape(origin);
  return async () => {
    const after = await scrape(origin);
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    const gcKinds = ['major', 'minor', 'incremental', 'weakcb'];
    return {
      lagP50Ms: (after.get('nodejs_eventloop_lag_p50_seconds') ?? NaN) * 1000,
      lagP99Ms: (after.get('nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
      lagMaxMs: (after.get('nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000,
      gcMs: gcKinds.reduce((sum, kind) => sum + delta(`nodejs_gc_duration_seconds_sum{kind="${kind}"}`), 0) * 1000,
      gcCount: gcKinds.reduce((sum, kind) => sum + delta(`nodejs_gc_duration_seconds_count{kind="${kind}"}`), 0),
      majorGcMs: delta('nodejs_gc_duration_seconds_sum{kind="major"}') * 1000,
      majorGcCount: delta('nodejs_gc_duration_seconds_count{kind="major"}'),
      cpuS: delta('process_cpu_seconds_total'),
    };
  };
}
