import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { freePort, processPeakRssMiB } from './lib/children.js';
import { envChoices, envSettings } from './lib/env.js';
import { type Benchmark, measureAlternately, type Named } from './lib/harness.js';
import { devToken, type HaulTarget, nodeFlags, startHaul } from './lib/haul.js';
import { loadSettings, percentile, runLoad } from './lib/load-clients.js';
import { startProber, watchServerLoop } from './lib/prober.js';
import { benchTempDir, fixed, machineLine, range, sizeLabel, writeReport } from './lib/report.js';
import { cleanUpPrefix, createS3, uniquePrefix } from './lib/s3.js';
import { stopServers } from './lib/servers.js';
import { ensureLocalS3, haulS3Env } from './lib/services.js';

/**
 * Load: many uploads at once against one Haul — the embedded default (its own PostgreSQL, disk),
 * a PostgreSQL server (disk) and S3 (PostgreSQL + the local Swift) — while /healthz is asked every
 * 100 ms on a fresh connection from processes of their own (lib/prober.ts: as a kubelet asks; not
 * from this process, whose event loop drives the uploads), on PROBE_PORT (the probe thread, where
 * a kubelet is pointed) and, for contrast, on PORT. Each of BENCH_UPLOADS clients (its own
 * user, as real clients are) creates an upload and sends it in BENCH_PATCH_MIB PATCHes; no
 * retries, so every failure counts. Reports errors, the wall time, PATCH latency p50/p99,
 * /healthz p50/p99/max, the server's event-loop delay (p99, max: its /metrics) and the server
 * process's peak RSS.
 *
 * env: BENCH_UPLOADS (200), BENCH_SIZE_MIB (10), BENCH_PATCH_MIB (2), BENCH_ROUNDS (1),
 *      BENCH_BACKENDS (embedded,postgres,s3), BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/postgres:
 *      a database is created and dropped for the run), BENCH_TIMEOUT_MS (per request, 300000),
 *      BENCH_HAUL_ENV ("KEY=VALUE,…": extra settings for every Haul), BENCH_PROFILE=<dir> (--cpu-prof).
 */

const MiB = 2 ** 20;
const BACKENDS = { embedded: 'embedded PostgreSQL, disk', postgres: 'PostgreSQL, disk', s3: 'PostgreSQL, S3' } as const;
type Backend = keyof typeof BACKENDS;

export const benchmark: Benchmark = {
  name: 'load',
  description: 'N concurrent uploads (2 MiB PATCHes) against the embedded default, PostgreSQL and S3; errors, PATCH and /healthz latency, peak RSS',
  async run(log) {
    const { uploads, sizeMiB, patchMiB, size, patchSize, rounds, timeoutMs, databaseUrl } = loadSettings(200);
    const backends = envChoices('BENCH_BACKENDS', Object.keys(BACKENDS) as Backend[]);
    const extraEnv = envSettings('BENCH_HAUL_ENV');
    const profileDir = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;
    if (profileDir) fs.mkdirSync(profileDir, { recursive: true });

    const tmp = benchTempDir('load', backends.length * uploads * size + 512 * MiB);
    const settings = backends.includes('s3') ? ensureLocalS3(log) : undefined;
    const s3 = settings && createS3(settings);
    const runPrefix = uniquePrefix('load');
    const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    const databases: string[] = [];
    log(`load: ${uploads} concurrent uploads of ${sizeLabel(sizeMiB)} in ${patchMiB} MiB PATCHes; ${backends.map((b) => BACKENDS[b]).join('; ')}; ${rounds} round(s)`);
    log(`  temp dir ${tmp.root}, ${machineLine()}`);

    const servers = new Map<Backend, HaulTarget & { tokens: string[]; probeOrigin: string }>();
    const started = Date.now();
    let peakRssMiB: Record<string, number | undefined> = {};
    let measured;
    try {
      for (const backend of backends) {
        const probePort = await freePort();
        const env: Record<string, string> = { MAX_CONCURRENT_UPLOADS_PER_USER: '50', LOG_LEVEL: 'warn', PROBE_PORT: String(probePort), ...extraEnv };
        if (backend !== 'embedded') {
          const name = `haul_bench_load_${Date.now().toString(36)}_${backend}`;
          await admin.unsafe(`CREATE DATABASE ${name}`);
          databases.push(name);
          const url = new URL(databaseUrl);
          url.pathname = `/${name}`;
          env.DATABASE_URL = url.href;
        }
        if (backend === 's3' && settings) Object.assign(env, haulS3Env(settings, `${runPrefix}haul/`));
        const haul = await startHaul({
          name: `haul-${backend}`, dataDir: path.join(tmp.root, backend), maxSize: size, env, logFile: path.join(tmp.root, `haul-${backend}.log`), nodeArgs: nodeFlags(`haul-${backend}`, profileDir),
        });
        const tokens = await Promise.all(Array.from({ length: uploads }, (_, i) => devToken(haul.child.url, `load-${i}`)));
        servers.set(backend, { ...haul, tokens, probeOrigin: `http://127.0.0.1:${probePort}` });
        log(`  haul (${backend}) pid ${haul.child.pid}  ${haul.endpoint}`);
      }

      /**
       * Every upload at once (lib/load-clients.ts); /healthz every 100 ms meanwhile, from other
       * processes: on PROBE_PORT (the probe thread, where probes belong) and on PORT.
       */
      const loadOn = async (backend: Backend) => {
        const server = servers.get(backend)!;
        const probers = await Promise.all([startProber(server.probeOrigin, ['/healthz'], 100), startProber(server.child.url, ['/healthz'], 100)]);
        const serverView = await watchServerLoop(server.child.url);
        for (const prober of probers) prober.start();
        const run = await runLoad({ endpoint: server.endpoint, tokens: server.tokens, size, patchSize, timeoutMs });
        const [thread, main] = await Promise.all(probers.map((prober) => prober.stop()));
        const failures = [...thread!.failures.map((f) => `PROBE_PORT probe ${f}`), ...main!.failures.map((f) => `PORT probe ${f}`)];
        return { ...run, healthMs: thread!.latencies['/healthz']!, mainHealthMs: main!.latencies['/healthz']!, errors: [...run.errors, ...failures], server: await serverView() };
      };

      const targets = backends.map((b): Named & { backend: Backend } => ({ id: b, label: BACKENDS[b], backend: b }));
      measured = await measureAlternately({
        rounds,
        groups: [{ id: 'load', label: `${uploads} × ${sizeLabel(sizeMiB)}` }],
        targets,
        log,
        async measure(target) {
          const r = await loadOn(target.backend);
          if (r.errors.length > 0) log(`    ${target.id}: ${r.errors.length} error(s), first: ${r.errors[0]}`);
          return {
            values: {
              seconds: r.seconds, errors: r.errors.length,
              patchP50: percentile(r.patchMs, 50), patchP99: percentile(r.patchMs, 99),
              healthP50: percentile(r.healthMs, 50), healthP99: percentile(r.healthMs, 99), healthMax: Math.max(...r.healthMs),
              mainHealthP99: percentile(r.mainHealthMs, 99), mainHealthMax: Math.max(...r.mainHealthMs),
              lagP99Ms: r.server.lagP99Ms, lagMaxMs: r.server.lagMaxMs, gcMs: r.server.gcMs, cpuS: r.server.cpuS,
              peakRssMiB: processPeakRssMiB(servers.get(target.backend)!.child.pid),
            },
            detail: { firstErrors: r.errors.slice(0, 5), server: r.server },
          };
        },
        describe: ({ values: v }, target) =>
          `${target.id.padEnd(9)} ${fixed(v.seconds, 1)} s, ${v.errors} errors, PATCH p50 ${fixed(v.patchP50)} ms p99 ${fixed(v.patchP99)} ms, ` +
          `/healthz on PROBE_PORT p50 ${fixed(v.healthP50)} p99 ${fixed(v.healthP99)} max ${fixed(v.healthMax)} ms (on PORT p99 ${fixed(v.mainHealthP99)} max ${fixed(v.mainHealthMax)}), peak RSS ${fixed(v.peakRssMiB)} MiB; ` +
          `server loop delay p99 ${fixed(v.lagP99Ms)} max ${fixed(v.lagMaxMs)} ms, GC ${fixed(v.gcMs)} ms, CPU ${fixed(v.cpuS, 1)} s`,
        onError: (target) => `--- haul (${target.id}) output (tail):\n${servers.get(target.backend)!.child.logs().slice(-4000)}`,
      });
    } finally {
      peakRssMiB = await stopServers([...servers.entries()].map(([id, s]) => ({ id, child: s.child })), log);
      for (const name of databases) await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await admin.end();
      if (s3 && settings) log(`  ${(await cleanUpPrefix(s3, settings, runPrefix)).text}`);
      tmp.remove();
    }

    const m = measured;
    const group = { id: 'load', label: '' };
    const targets = backends.map((b) => ({ id: b, label: BACKENDS[b] }));
    const row = (t: Named) => [
      t.label, fixed(m.stat(group, t, 'errors')?.max), range(m.stat(group, t, 'seconds'), 1), fixed(m.stat(group, t, 'patchP50')?.median),
      fixed(m.stat(group, t, 'patchP99')?.median), fixed((m.stat(group, t, 'patchP99')?.median ?? NaN) / (m.stat(group, t, 'patchP50')?.median ?? NaN), 1),
      fixed(m.stat(group, t, 'healthP99')?.median), fixed(m.stat(group, t, 'healthMax')?.median),
      `${fixed(m.stat(group, t, 'mainHealthP99')?.median)} / ${fixed(m.stat(group, t, 'mainHealthMax')?.median)}`,
      `${fixed(m.stat(group, t, 'lagP99Ms')?.median)} / ${fixed(m.stat(group, t, 'lagMaxMs')?.median)}`, fixed(peakRssMiB[t.id] ?? m.stat(group, t, 'peakRssMiB')?.max),
    ];
    const header = ['Backend', 'Errors', 'Time, s', 'PATCH p50, ms', 'PATCH p99, ms', 'p99/p50', '/healthz p99, ms', '/healthz max, ms', '/healthz on PORT p99 / max, ms', 'Server loop delay p99 / max, ms', 'Server peak RSS, MiB'];
    writeReport({
      name: 'load',
      text: [{ title: `Load: ${uploads} concurrent uploads of ${sizeLabel(sizeMiB)}, ${patchMiB} MiB PATCHes (median of ${rounds} round(s))`, table: { header, rows: targets.map(row) } }],
      markdown: {
        table: { header, rows: targets.map(row) },
        caption:
          `${uploads} clients at once, each its own user, ${sizeLabel(sizeMiB)} in ${patchMiB} MiB PATCHes over keep-alive connections, no retries; ` +
          `/healthz every 100 ms during the run on fresh connections from other processes, on PROBE_PORT (the probe thread: the /healthz columns) and on PORT; server loop delay from its /metrics (monitorEventLoopDelay); peak RSS = the Haul process's VmHWM (the embedded PostgreSQL's processes not included); ` +
          `${rounds} round(s), backends alternating; ${os.cpus().length} CPUs, Node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}. \`npm run bench -- load\`.`,
      },
      json: {
        config: { uploads, sizeMiB, patchMiB, rounds, backends },
        elapsedS: (Date.now() - started) / 1000,
        peakRssMiB,
        summary: m.summary([group], targets, ['seconds', 'errors', 'patchP50', 'patchP99', 'healthP50', 'healthP99', 'healthMax', 'mainHealthP99', 'mainHealthMax', 'lagP99Ms', 'lagMaxMs', 'gcMs', 'cpuS', 'peakRssMiB']),
        samples: m.samples,
      },
    }, log);
  },
};
