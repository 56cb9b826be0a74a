import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { envChoices, envInt } from './lib/env.js';
import { type Benchmark, measureAlternately, type Named } from './lib/harness.js';
import { freePort } from './lib/children.js';
import { devToken, type HaulTarget, nodeFlags, startHaul } from './lib/haul.js';
import { request } from './lib/http-client.js';
import { type ProbeResults, startProber, watchServerLoop } from './lib/prober.js';
import { benchTempDir, fixed, machine, machineLine, range, writeReport } from './lib/report.js';
import { tusUpload } from './lib/tus-client.js';

/**
 * Liveness under load (issue 13, item 7): how long /healthz and /readyz take while 200 uploads
 * run, against the same probes on the idle server (alternately, round by round). For contrast,
 * `/api/config` — a cheap route that goes through the app's middleware like any request — is
 * probed at the same time: it is what the probes would cost if they were ordinary routes.
 *
 * Two ways to be probed, measured side by side: on PORT, where /healthz and /readyz are answered
 * before the app on the main event loop (and wait for its turns, and for libuv to accept the
 * connections queued before them — one per turn); and on PROBE_PORT, where a thread of their own
 * answers them (server/src/http/probe-listener.ts), as a kubelet would be pointed.
 *
 * Each phase probes the three paths round-robin, one request at a time on a fresh connection (as
 * a kubelet does), every BENCH_PROBE_INTERVAL_MS, while the load runs (or for as long on the idle
 * server). The probes come from a process of their own (lib/prober-child.ts), as a kubelet's do:
 * BENCH_PROBE_FROM=inline probes from the benchmark's own process instead, which drives the
 * uploads, to show what its busy event loop adds. Beside the probes, the server's own view of the
 * phase from its /metrics: event-loop delay (p99, max), garbage collection, CPU seconds.
 *
 * The load: BENCH_UPLOADS uploads at once, each BENCH_UPLOAD_MIB in one PATCH, each by its own
 * user (the per-user request cap stays at its default). Haul uses the embedded PostgreSQL unless
 * BENCH_DATABASE_URL is set; WORKER=off (processing is not what is measured). BENCH_COMPARE_ENV
 * ("KEY=VALUE,KEY=VALUE") adds a second Haul with those settings, measured alternately with the
 * first: a change and its absence under the same machine load.
 *
 * env: BENCH_ROUNDS (3), BENCH_UPLOADS (200), BENCH_UPLOAD_MIB (10), BENCH_PROBE_INTERVAL_MS (20),
 *      BENCH_PROBE_FROM (child | inline), BENCH_DATABASE_URL, BENCH_COMPARE_ENV,
 *      BENCH_PROFILE=<dir> (the servers run with --cpu-prof), BENCH_KEEP_TMP=1.
 */

const MiB = 2 ** 20;
const PATHS = ['/healthz', '/readyz', '/api/config'] as const;
/** Probed at the same time on PROBE_PORT (the probe thread's own listener). */
const THREAD_PATHS = ['/healthz', '/readyz'] as const;
const PROBE_METRICS = [
  'healthzP50', 'healthzP99', 'healthzMax', 'readyzP50', 'readyzP99', 'readyzMax', 'configP50', 'configP99', 'configMax',
  'threadHealthzP50', 'threadHealthzP99', 'threadHealthzMax', 'threadReadyzP50', 'threadReadyzP99', 'threadReadyzMax',
] as const;
const SERVER_METRICS = ['lagP99Ms', 'lagMaxMs', 'gcMs', 'majorGcCount', 'cpuS'] as const;
type Metric = (typeof PROBE_METRICS)[number] | (typeof SERVER_METRICS)[number] | 'loadSeconds' | 'probes';

const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;

/** "A=1,B=2" → { A: '1', B: '2' }. */
function parseEnv(spec: string): Record<string, string> {
  return Object.fromEntries(spec.split(',').filter(Boolean).map((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`BENCH_COMPARE_ENV: "${pair}" is not KEY=VALUE`);
    return [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
  }));
}

/** The old way: probes from this process, which also drives the uploads. */
async function probeInline(base: string, until: Promise<unknown>, intervalMs: number): Promise<ProbeResults> {
  const noKeepAlive = new http.Agent({ keepAlive: false });
  let done = false;
  void until.finally(() => (done = true));
  const latencies: Record<string, number[]> = Object.fromEntries(PATHS.map((p) => [p, []]));
  const failures: string[] = [];
  for (let i = 0; !done; i++) {
    const target = PATHS[i % PATHS.length]!;
    const started = performance.now();
    const res = await request(`${base}${target}`, { agent: noKeepAlive, timeoutMs: 30_000 });
    if (res.status !== 200) failures.push(`${target}: ${res.status} ${res.body.slice(0, 200)}`);
    latencies[target]!.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  noKeepAlive.destroy();
  return { latencies, failures };
}

type Variant = Named & { env: Record<string, string> };

export const benchmark: Benchmark = {
  name: 'liveness',
  description: '/healthz and /readyz latency while 200 uploads run, vs the idle server (and an ordinary route for contrast)',
  async run(log) {
    const rounds = envInt('BENCH_ROUNDS', 3);
    const uploads = envInt('BENCH_UPLOADS', 200);
    const uploadMiB = envInt('BENCH_UPLOAD_MIB', 10);
    const intervalMs = envInt('BENCH_PROBE_INTERVAL_MS', 20);
    const [probeFrom] = envChoices('BENCH_PROBE_FROM', ['child', 'inline'] as const, ['child']);
    const compareEnv = process.env.BENCH_COMPARE_ENV ? parseEnv(process.env.BENCH_COMPARE_ENV) : undefined;
    const profileDir = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;
    if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
    const database = process.env.BENCH_DATABASE_URL ? 'PostgreSQL' : 'embedded PostgreSQL';
    const variants: Variant[] = [
      { id: 'haul', label: `Haul, ${database}`, env: {} },
      ...(compareEnv ? [{ id: 'compare', label: `Haul, ${database}, ${Object.entries(compareEnv).map(([k, v]) => `${k}=${v}`).join(' ')}`, env: compareEnv }] : []),
    ];
    const tmp = benchTempDir('liveness', 2 * uploads * uploadMiB * MiB);
    log(`liveness: ${uploads} uploads × ${uploadMiB} MiB, probes every ${intervalMs} ms from ${probeFrom === 'child' ? 'a process of their own' : 'the load generator'}, ${rounds} rounds; ${machineLine()}`);
    const servers = new Map<string, HaulTarget & { tokens: string[]; probeOrigin: string }>();
    try {
      for (const variant of variants) {
        const probePort = await freePort();
        const haul = await startHaul({
          name: variant.id,
          dataDir: path.join(tmp.root, variant.id),
          env: { ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}), PROBE_PORT: String(probePort), ...variant.env },
          logFile: path.join(tmp.root, `${variant.id}.log`),
          nodeArgs: nodeFlags(variant.id, profileDir),
        });
        servers.set(variant.id, { ...haul, probeOrigin: `http://127.0.0.1:${probePort}`, tokens: await Promise.all(Array.from({ length: uploads }, (_, i) => devToken(haul.child.url, `bench-${i}`))) });
        log(`  ${variant.label}: pid ${haul.child.pid}, ${haul.child.url}`);
      }
      const targets: Named[] = [{ id: 'idle', label: 'idle' }, { id: 'loaded', label: `${uploads} uploads` }];
      let loadSeconds = 10;
      const measured = await measureAlternately<Variant, Named, Metric>({
        rounds,
        groups: variants,
        targets,
        log,
        async measure(target, variant) {
          const haul = servers.get(variant.id)!;
          const base = haul.child.url;
          const prober = probeFrom === 'child' ? await startProber(base, PATHS, intervalMs) : undefined;
          const threadProber = await startProber(haul.probeOrigin, THREAD_PATHS, intervalMs);
          const serverView = await watchServerLoop(base);
          const started = performance.now();
          prober?.start();
          threadProber.start();
          const load = target.id === 'loaded'
            ? Promise.all(haul.tokens.map((token) => tusUpload({ endpoint: haul.endpoint, size: uploadMiB * MiB, chunkSize: uploadMiB * MiB, headers: { Authorization: `Bearer ${token}` }, timeoutMs: 600_000 })))
            : new Promise((r) => setTimeout(r, loadSeconds * 1000));
          const inline = prober ? undefined : probeInline(base, load, intervalMs);
          await load;
          const seconds = (performance.now() - started) / 1000;
          const probes = prober ? await prober.stop() : await inline!;
          const threadProbes = await threadProber.stop();
          const server = await serverView();
          for (const { failures } of [probes, threadProbes]) if (failures.length > 0) throw new Error(`${failures.length} probe(s) failed, first: ${failures[0]}`);
          if (target.id === 'loaded') loadSeconds = seconds;
          const sorted = (latencies: number[]) => [...latencies].sort((a, b) => a - b);
          const of = (p: string) => sorted(probes.latencies[p]!);
          const stats = (p: string, from = of(p)) => [quantile(from, 0.5), quantile(from, 0.99), from.at(-1)];
          const [threadHealthzP50, threadHealthzP99, threadHealthzMax] = stats('', sorted(threadProbes.latencies['/healthz']!));
          const [threadReadyzP50, threadReadyzP99, threadReadyzMax] = stats('', sorted(threadProbes.latencies['/readyz']!));
          const [healthzP50, healthzP99, healthzMax] = stats('/healthz');
          const [readyzP50, readyzP99, readyzMax] = stats('/readyz');
          const [configP50, configP99, configMax] = stats('/api/config');
          return {
            values: {
              healthzP50, healthzP99, healthzMax, readyzP50, readyzP99, readyzMax, configP50, configP99, configMax,
              threadHealthzP50, threadHealthzP99, threadHealthzMax, threadReadyzP50, threadReadyzP99, threadReadyzMax,
              lagP99Ms: server.lagP99Ms, lagMaxMs: server.lagMaxMs, gcMs: server.gcMs, majorGcCount: server.majorGcCount, cpuS: server.cpuS,
              loadSeconds: seconds, probes: PATHS.reduce((n, p) => n + of(p).length, 0),
            },
            detail: { server },
          };
        },
        describe: ({ values: v }, target, variant) =>
          `${variant.id.padEnd(8)} ${target.label.padEnd(12)} ${fixed(v.loadSeconds, 1)} s, ${v.probes} probes; p99 ms: /healthz ${fixed(v.healthzP99, 1)}, /readyz ${fixed(v.readyzP99, 1)}, ` +
          `on PROBE_PORT /healthz ${fixed(v.threadHealthzP99, 1)}, /readyz ${fixed(v.threadReadyzP99, 1)}, ` +
          `/api/config ${fixed(v.configP99, 1)}; server loop delay p99 ${fixed(v.lagP99Ms, 1)} max ${fixed(v.lagMaxMs, 1)} ms, GC ${fixed(v.gcMs)} ms (${fixed(v.majorGcCount)} major), CPU ${fixed(v.cpuS, 1)} s`,
        onError: (_, variant) => servers.get(variant.id)!.child.logs().slice(-4000),
      });
      const [idle, loaded] = targets as [Named, Named];
      const probeRows: Array<[string, Metric, Metric, Metric]> = [
        ['/healthz on PROBE_PORT (probe thread)', 'threadHealthzP50', 'threadHealthzP99', 'threadHealthzMax'],
        ['/readyz on PROBE_PORT (probe thread)', 'threadReadyzP50', 'threadReadyzP99', 'threadReadyzMax'],
        ['/healthz on PORT', 'healthzP50', 'healthzP99', 'healthzMax'], ['/readyz on PORT', 'readyzP50', 'readyzP99', 'readyzMax'],
        ['/api/config (PORT, through the app)', 'configP50', 'configP99', 'configMax'],
      ];
      const many = variants.length > 1;
      const header = [...(many ? ['server'] : []), 'path', 'phase', 'p50 ms', 'p99 ms', 'max ms', 'p99 loaded / idle'];
      const rows = variants.flatMap((variant) => probeRows.flatMap(([label, p50, p99, max]) => [idle, loaded].map((t) => [
        ...(many ? [variant.id] : []), label, t.label, range(measured.stat(variant, t, p50), 1), range(measured.stat(variant, t, p99), 1), range(measured.stat(variant, t, max), 1),
        t === loaded ? `${fixed(measured.ratio(variant, loaded, idle, p99)?.ofMedians, 1)}×` : '',
      ])));
      const serverHeader = [...(many ? ['server'] : []), 'phase', 'time, s', 'loop delay p99, ms', 'loop delay max, ms', 'GC, ms', 'major GCs', 'server CPU, s'];
      const serverRows = variants.flatMap((variant) => [idle, loaded].map((t) => [
        ...(many ? [variant.id] : []), t.label, range(measured.stat(variant, t, 'loadSeconds'), 1), range(measured.stat(variant, t, 'lagP99Ms'), 1), range(measured.stat(variant, t, 'lagMaxMs'), 1),
        range(measured.stat(variant, t, 'gcMs')), range(measured.stat(variant, t, 'majorGcCount')), range(measured.stat(variant, t, 'cpuS'), 1),
      ]));
      const m = machine();
      const settings = many ? ` compare = ${variants[1]!.label}.` : '';
      writeReport({
        name: 'liveness',
        text: [
          { title: 'probe latency (median over rounds, min–max)', table: { header, rows } },
          { title: "the server's own view (its /metrics): event-loop delay, GC, CPU", table: { header: serverHeader, rows: serverRows } },
        ],
        markdown: {
          table: { header, rows },
          caption: `${uploads} concurrent uploads of ${uploadMiB} MiB (one PATCH each, one user each) against ${variants[0]!.label}, WORKER=off; probes round-robin on fresh connections every ${intervalMs} ms, on PORT and on PROBE_PORT at once, from ${probeFrom === 'child' ? 'a process of their own' : "the load generator's process"}; ${rounds} rounds, idle and loaded alternately; median of per-round values (min–max).${settings} ${m.cpus} CPUs (${m.cpuModel}), Node ${m.node}, load at end ${m.loadavgAtEnd.map((l) => l.toFixed(2)).join(' ')}.\n\n` +
            `Server's view:\n\n| ${serverHeader.join(' | ')} |\n| ${serverHeader.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |\n${serverRows.map((r) => `| ${r.join(' | ')} |`).join('\n')}`,
        },
        json: {
          settings: { rounds, uploads, uploadMiB, intervalMs, probeFrom, compareEnv },
          machine: m,
          summary: measured.summary(variants, targets, [...PROBE_METRICS, ...SERVER_METRICS, 'loadSeconds']),
          samples: measured.samples,
        },
      }, log);
    } finally {
      for (const { child } of servers.values()) await child.stop();
      tmp.remove();
    }
  },
};
