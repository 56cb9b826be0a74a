import http from 'node:http';
import path from 'node:path';
import { envInt } from './lib/env.js';
import { type Benchmark, measureAlternately, type Named } from './lib/harness.js';
import { devToken, startHaul } from './lib/haul.js';
import { request } from './lib/http-client.js';
import { benchTempDir, fixed, machine, machineLine, range, writeReport } from './lib/report.js';
import { tusUpload } from './lib/tus-client.js';

/**
 * Liveness under load (issue 13, item 7): how long /healthz and /readyz take while 200 uploads
 * run, against the same probes on the idle server (alternately, round by round). For contrast,
 * `/api/config` — a cheap route that goes through the app's middleware like any request — is
 * probed at the same time: it is what the probes would cost if they were ordinary routes.
 *
 * Each phase probes the three paths round-robin, one request at a time on a fresh connection (as
 * a kubelet does), every BENCH_PROBE_INTERVAL_MS, while the load runs (or for as long on the idle
 * server). The load: BENCH_UPLOADS uploads at once, each BENCH_UPLOAD_MIB in one PATCH, each by
 * its own user (the per-user request cap stays at its default). Haul uses the embedded PostgreSQL
 * unless BENCH_DATABASE_URL is set; WORKER=off (processing is not what is measured).
 *
 * env: BENCH_ROUNDS (3), BENCH_UPLOADS (200), BENCH_UPLOAD_MIB (10), BENCH_PROBE_INTERVAL_MS (20),
 *      BENCH_DATABASE_URL, BENCH_KEEP_TMP=1.
 */

const MiB = 2 ** 20;
const PATHS = ['/healthz', '/readyz', '/api/config'] as const;
type Metric = 'healthzP50' | 'healthzP99' | 'healthzMax' | 'readyzP50' | 'readyzP99' | 'readyzMax' | 'configP50' | 'configP99' | 'configMax' | 'loadSeconds' | 'probes';

const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;

export const benchmark: Benchmark = {
  name: 'liveness',
  description: '/healthz and /readyz latency while 200 uploads run, vs the idle server (and an ordinary route for contrast)',
  async run(log) {
    const rounds = envInt('BENCH_ROUNDS', 3);
    const uploads = envInt('BENCH_UPLOADS', 200);
    const uploadMiB = envInt('BENCH_UPLOAD_MIB', 10);
    const intervalMs = envInt('BENCH_PROBE_INTERVAL_MS', 20);
    const tmp = benchTempDir('liveness', 2 * uploads * uploadMiB * MiB);
    log(`liveness: ${uploads} uploads × ${uploadMiB} MiB, probes every ${intervalMs} ms, ${rounds} rounds; ${machineLine()}`);
    const haul = await startHaul({
      dataDir: path.join(tmp.root, 'haul'),
      env: process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {},
      logFile: path.join(tmp.root, 'haul.log'),
    });
    const base = haul.child.url;
    const tokens = await Promise.all(Array.from({ length: uploads }, (_, i) => devToken(base, `bench-${i}`)));
    const noKeepAlive = new http.Agent({ keepAlive: false });

    /** Probes PATHS round-robin until `until` settles; latencies per path, sorted. */
    const probe = async (until: Promise<unknown>) => {
      let done = false;
      void until.finally(() => (done = true));
      const latencies = new Map<string, number[]>(PATHS.map((p) => [p, []]));
      for (let i = 0; !done; i++) {
        const target = PATHS[i % PATHS.length]!;
        const started = performance.now();
        const res = await request(`${base}${target}`, { agent: noKeepAlive, timeoutMs: 30_000 });
        if (res.status !== 200) throw new Error(`${target}: ${res.status} ${res.body.slice(0, 200)}`);
        latencies.get(target)!.push(performance.now() - started);
        await new Promise((r) => setTimeout(r, intervalMs));
      }
      return new Map([...latencies].map(([p, l]) => [p, l.sort((a, b) => a - b)]));
    };

    const group: Named = { id: 'haul', label: `Haul, ${process.env.BENCH_DATABASE_URL ? 'PostgreSQL' : 'embedded PostgreSQL'}` };
    const targets: Named[] = [{ id: 'idle', label: 'idle' }, { id: 'loaded', label: `${uploads} uploads` }];
    let loadSeconds = 10;
    try {
      const measured = await measureAlternately<Named, Named, Metric>({
        rounds,
        groups: [group],
        targets,
        log,
        async measure(target) {
          const started = performance.now();
          const load = target.id === 'loaded'
            ? Promise.all(tokens.map((token) => tusUpload({ endpoint: haul.endpoint, size: uploadMiB * MiB, chunkSize: uploadMiB * MiB, headers: { Authorization: `Bearer ${token}` }, timeoutMs: 600_000 })))
            : new Promise((r) => setTimeout(r, loadSeconds * 1000));
          const [latencies] = await Promise.all([probe(load), load]);
          const seconds = (performance.now() - started) / 1000;
          if (target.id === 'loaded') loadSeconds = seconds;
          const of = (p: string) => latencies.get(p)!;
          return {
            values: {
              healthzP50: quantile(of('/healthz'), 0.5), healthzP99: quantile(of('/healthz'), 0.99), healthzMax: of('/healthz').at(-1),
              readyzP50: quantile(of('/readyz'), 0.5), readyzP99: quantile(of('/readyz'), 0.99), readyzMax: of('/readyz').at(-1),
              configP50: quantile(of('/api/config'), 0.5), configP99: quantile(of('/api/config'), 0.99), configMax: of('/api/config').at(-1),
              loadSeconds: seconds, probes: PATHS.reduce((n, p) => n + of(p).length, 0),
            },
          };
        },
        describe: ({ values: v }, target) =>
          `${target.label.padEnd(12)} ${fixed(v.loadSeconds, 1)} s, ${v.probes} probes; p99 ms: /healthz ${fixed(v.healthzP99, 1)}, /readyz ${fixed(v.readyzP99, 1)}, /api/config ${fixed(v.configP99, 1)}`,
        onError: () => haul.child.logs().slice(-4000),
      });
      const [idle, loaded] = targets as [Named, Named];
      const metrics: Array<[string, Metric, Metric, Metric]> = [
        ['/healthz', 'healthzP50', 'healthzP99', 'healthzMax'], ['/readyz', 'readyzP50', 'readyzP99', 'readyzMax'], ['/api/config (through the app)', 'configP50', 'configP99', 'configMax'],
      ];
      const header = ['path', 'phase', 'p50 ms', 'p99 ms', 'max ms', 'p99 loaded / idle'];
      const rows = metrics.flatMap(([label, p50, p99, max]) => [idle, loaded].map((t) => [
        label, t.label, range(measured.stat(group, t, p50), 1), range(measured.stat(group, t, p99), 1), range(measured.stat(group, t, max), 1),
        t === loaded ? `${fixed(measured.ratio(group, loaded, idle, p99)?.ofMedians, 1)}×` : '',
      ]));
      const m = machine();
      writeReport({
        name: 'liveness',
        text: [{ title: 'probe latency (median over rounds, min–max)', table: { header, rows } }],
        markdown: {
          table: { header, rows },
          caption: `${uploads} concurrent uploads of ${uploadMiB} MiB (one PATCH each, one user each) against ${group.label}, WORKER=off; probes round-robin on fresh connections every ${intervalMs} ms; ${rounds} rounds, idle and loaded alternately; median of per-round values (min–max). ${m.cpus} CPUs (${m.cpuModel}), load at end ${m.loadavgAtEnd.map((l) => l.toFixed(2)).join(' ')}.`,
        },
        json: { settings: { rounds, uploads, uploadMiB, intervalMs }, machine: m, summary: measured.summary([group], targets, metrics.flatMap(([, a, b, c]) => [a, b, c])), samples: measured.samples },
      }, log);
    } finally {
      noKeepAlive.destroy();
      await haul.child.stop();
      tmp.remove();
    }
  },
};
