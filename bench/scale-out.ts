import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { freePort } from './lib/children.js';
import { envChoices, envSettings } from './lib/env.js';
import { countersLine, countersSince, serverCounters } from './lib/haproxy-stats.js';
import { type Benchmark, measureAlternately, type Named } from './lib/harness.js';
import { devToken, type HaulTarget, startHaul, tusRequestsAnswered } from './lib/haul.js';
import { expectedDigest, type LoadRun, loadSettings, percentile, runLoad } from './lib/load-clients.js';
import { benchTempDir, fixed, machineLine, range, RESULTS_DIR, sizeLabel, times, writeReport } from './lib/report.js';
import { cleanUpPrefix, createS3, listObjects, objectSha256, uniquePrefix } from './lib/s3.js';
import { stopServers } from './lib/servers.js';
import { ensureLocalS3, haulS3Env, type LocalHaproxy, s3Description, startLocalHaproxy } from './lib/services.js';

/**
 * Scale-out: two Haul instances behind HAProxy (scripts/local-haproxy.sh: round-robin per request,
 * no stickiness), sharing one PostgreSQL database (created fresh for the run) and one S3 prefix,
 * against the same load sent to one of them directly, alternately. The load is bench/load.ts's
 * (lib/load-clients.ts): BENCH_UPLOADS clients at once, each its own user, BENCH_SIZE_MIB each in
 * BENCH_PATCH_MIB PATCHes over keep-alive connections, no retries. Through HAProxy every response
 * names the instance that answered (X-Haul-Backend), so the run counts the uploads whose requests
 * reached both; each instance's own haul_requests_total (GET /metrics) gives its share of the tus
 * requests. After each run every completed upload's S3 object is read back and its SHA-256
 * compared with the bytes sent. The benchmark fails if any request failed or any byte differs.
 * HAProxy's own account is kept too: its counters per instance over each run (connections opened
 * and reused, failed responses, aborts; stats socket) and its log (a line with the termination
 * state per request that ended abnormally), copied to bench/results/scale-out-haproxy.log.
 *
 * The issue's load is 200 × 10 MiB; the local Swift on a loaded 2-core machine needs about three
 * minutes for 50 × 10 MiB per target (half a minute when the machine is quiet), so the default is 50
 * (BENCH_UPLOADS=200 for the full load). Each instance holds at most DATABASE_POOL_MAX + 5
 * PostgreSQL connections (15 by default; README "Several instances"), whatever the number of
 * uploads in progress, and gives all but two back when idle.
 *
 * env: BENCH_UPLOADS (50), BENCH_SIZE_MIB (10), BENCH_PATCH_MIB (2), BENCH_ROUNDS (1),
 *      BENCH_TARGETS (proxy,direct), BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/postgres:
 *      a database is created and dropped for the run), BENCH_TIMEOUT_MS (per request, 300000),
 *      BENCH_PORTS (e.g. 3450-3499: the instances' and HAProxy's ports from that range; default any);
 *      BENCH_HAUL_ENV ("KEY=VALUE,…": extra settings for both instances, e.g. KEEP_ALIVE_TIMEOUT_SECONDS=5);
 *      S3_* to use another S3 than scripts/local-s3.sh's.
 */

const MiB = 2 ** 20;
const SERVED_BY = 'X-Haul-Backend';
const INSTANCES = ['haul1', 'haul2'] as const;
const TARGETS = { proxy: '2 instances behind HAProxy', direct: '1 instance, direct' } as const;
type TargetId = keyof typeof TARGETS;
type Metric = 'seconds' | 'errors' | 'patchP50' | 'patchP99' | 'requests1' | 'requests2' | 'hopped' | 'verified' | 'mismatched';

export const benchmark: Benchmark = {
  name: 'scale-out',
  description: 'N concurrent uploads through HAProxy to two Haul instances (same PostgreSQL and S3, requests hopping) vs one instance directly; bytes checked',
  async run(log) {
    const { uploads, sizeMiB, patchMiB, size, patchSize, rounds, timeoutMs, databaseUrl } = loadSettings(50);
    const wanted = envChoices('BENCH_TARGETS', Object.keys(TARGETS) as TargetId[]);

    const settings = ensureLocalS3(log);
    const s3 = createS3(settings);
    const runPrefix = uniquePrefix('scale-out');
    const prefix = `${runPrefix}haul/`;
    // S3Store spools parts below S3's minimum in os.tmpdir(): at most one PATCH per upload at a time.
    const tmp = benchTempDir('scale-out', uploads * patchSize + 512 * MiB);
    const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    const database = `haul_bench_scale_out_${Date.now().toString(36)}`;
    log(`scale-out: ${uploads} concurrent uploads of ${sizeLabel(sizeMiB)} in ${patchMiB} MiB PATCHes; ${wanted.map((t) => TARGETS[t]).join(' vs ')}; ${rounds} round(s)`);
    log(`  S3 ${settings.S3_ENDPOINT ?? 'AWS'} bucket ${settings.S3_BUCKET}, prefix ${prefix}; database ${database}`);
    log(`  temp dir ${tmp.root}, ${machineLine()}`);

    const instances: HaulTarget[] = [];
    let proxy: LocalHaproxy | undefined;
    let peakRssMiB: Record<string, number | undefined> = {};
    const started = Date.now();
    let measured;
    try {
      await admin.unsafe(`CREATE DATABASE ${database}`);
      const url = new URL(databaseUrl);
      url.pathname = `/${database}`;
      // Everything the instances must share: the database, the bucket and prefix, the token key.
      const env = {
        ...haulS3Env(settings, prefix),
        DATABASE_URL: url.href,
        JWT_SECRET: randomBytes(24).toString('hex'),
        TRUST_PROXY: 'true',
        MAX_CONCURRENT_UPLOADS_PER_USER: '50',
        ...envSettings('BENCH_HAUL_ENV'),
      };
      // One after the other: the first applies the migrations to the fresh database.
      // Each instance answers HAProxy's health checks on a PROBE_PORT of its own (the probe thread).
      const probePorts: number[] = [];
      for (const name of INSTANCES) {
        probePorts.push(await freePort());
        const haul = await startHaul({ name, dataDir: path.join(tmp.root, name), maxSize: size, env: { ...env, PROBE_PORT: String(probePorts.at(-1)) }, logFile: path.join(tmp.root, `${name}.log`) });
        instances.push(haul);
        log(`  ${name} pid ${haul.child.pid}  ${haul.child.url}`);
      }
      proxy = startLocalHaproxy({ stateDir: tmp.root, port: await freePort(), backends: instances.map((i) => new URL(i.child.url).host), checkPorts: probePorts });
      log(`  haproxy ${proxy.url} -> ${INSTANCES.join(', ')} (config ${path.join(tmp.root, 'haproxy', 'haproxy.cfg')})`);
      // Signed with the shared JWT_SECRET: valid on either instance.
      const tokens = await Promise.all(Array.from({ length: uploads }, (_, i) => devToken(instances[0]!.child.url, `scale-out-${i}`)));

      const endpointOf = (target: TargetId) => (target === 'proxy' ? `${proxy!.url}/files/` : instances[0]!.endpoint);
      const answered = () => Promise.all(instances.map((i) => tusRequestsAnswered(i.child.url)));

      const group = { id: 'load', label: `${uploads} × ${sizeLabel(sizeMiB)}` };
      measured = await measureAlternately<Named, Named & { target: TargetId }, Metric>({
        rounds,
        groups: [group],
        targets: wanted.map((t) => ({ id: t, label: TARGETS[t], target: t })),
        log,
        async measure({ target }) {
          const before = await answered();
          const countersBefore = target === 'proxy' ? await serverCounters(proxy!.statsSocket) : undefined;
          const run = await runLoad({ endpoint: endpointOf(target), tokens, size, patchSize, timeoutMs, servedByHeader: SERVED_BY });
          const after = await answered();
          const haproxyCounters = countersBefore && countersSince(countersBefore, await serverCounters(proxy!.statsSocket));
          if (haproxyCounters) log(`    haproxy: ${countersLine(haproxyCounters)}`);
          const check = await verifyStored(run);
          if (run.errors.length > 0) log(`    ${target}: ${run.errors.length} error(s), first: ${run.errors[0]}`);
          if (check.mismatched.length > 0) log(`    ${target}: ${check.mismatched.length} stored upload(s) differ, first: ${check.mismatched[0]}`);
          return {
            values: {
              seconds: run.seconds, errors: run.errors.length,
              patchP50: percentile(run.patchMs, 50), patchP99: percentile(run.patchMs, 99),
              requests1: after[0]! - before[0]!, requests2: after[1]! - before[1]!,
              hopped: target === 'proxy' ? run.uploads.filter((u) => u.servedBy.size > 1).length : 0,
              verified: check.verified, mismatched: check.mismatched.length,
            },
            detail: { firstErrors: run.errors.slice(0, 5), firstMismatches: check.mismatched.slice(0, 5), requestsBy: run.requestsBy, haproxyCounters },
          };
        },
        describe: ({ values: v }, t) =>
          `${t.id.padEnd(6)} ${fixed(v.seconds, 1)} s, ${v.errors} errors, PATCH p50 ${fixed(v.patchP50)} ms p99 ${fixed(v.patchP99)} ms, ` +
          `tus requests ${INSTANCES[0]} ${v.requests1} / ${INSTANCES[1]} ${v.requests2}, uploads on both ${v.hopped}, ` +
          `SHA-256 equal ${v.verified}/${uploads}${v.mismatched ? `, ${v.mismatched} DIFFER` : ''}`,
        onError: () => instances.map((i) => `--- ${i.child.name} output (tail):\n${i.child.logs().slice(-3000)}`).join('\n'),
      });
    } finally {
      if (proxy) {
        try {
          proxy.stop();
        } catch (error) {
          log(`  note: stopping haproxy failed: ${error instanceof Error ? error.message : String(error)}`);
        }
        keepHaproxyLog(proxy.logFile);
      }
      peakRssMiB = await stopServers(instances.map((i) => ({ id: i.child.name, child: i.child })), log);
      await admin.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
      await admin.end();
      log(`  ${(await cleanUpPrefix(s3, settings, runPrefix)).text}`);
      tmp.remove();
    }

    /** HAProxy's log goes with the temporary directory: a copy in bench/results/, and its abnormal ends counted here. */
    function keepHaproxyLog(logFile: string) {
      if (!fs.existsSync(logFile)) return log(`  haproxy log: none at ${logFile}`);
      const kept = path.join(RESULTS_DIR, 'scale-out-haproxy.log');
      fs.mkdirSync(RESULTS_DIR, { recursive: true });
      fs.copyFileSync(logFile, kept);
      const requests = fs.readFileSync(logFile, 'utf8').split('\n').filter((line) => / haul_in haul\//.test(line));
      log(`  haproxy log: ${requests.length} request(s) ended abnormally${requests.length ? `, first: ${requests[0]}` : ''}; kept in ${path.relative(process.cwd(), kept)}`);
    }

    /** Every completed upload's object, read back from S3 (four at a time) and hashed. */
    async function verifyStored(run: LoadRun): Promise<{ verified: number; mismatched: string[] }> {
      const keyOf = new Map<string, string>();
      for (const { key } of await listObjects(s3, settings.S3_BUCKET, prefix)) keyOf.set(key.slice(key.lastIndexOf('/') + 1), key);
      const mismatched: string[] = [];
      let verified = 0;
      const queue = [...run.uploads];
      await Promise.all(Array.from({ length: 4 }, async () => {
        for (let upload = queue.shift(); upload; upload = queue.shift()) {
          const key = keyOf.get(upload.id);
          if (!key) mismatched.push(`${upload.id}: no object in S3`);
          else if ((await objectSha256(s3, settings.S3_BUCKET, key)) !== expectedDigest(upload, size)) mismatched.push(`${upload.id}: SHA-256 differs`);
          else verified++;
        }
      }));
      return { verified, mismatched };
    }

    const m = measured;
    const group = { id: 'load', label: '' };
    const targets = wanted.map((t) => ({ id: t, label: TARGETS[t] }));
    const med = (t: Named, metric: Metric) => m.stat(group, t, metric)?.median;
    const row = (t: Named) => [
      t.label, fixed(m.stat(group, t, 'errors')?.max), range(m.stat(group, t, 'seconds'), 1), fixed(med(t, 'patchP50')), fixed(med(t, 'patchP99')),
      `${fixed(med(t, 'requests1'))} / ${fixed(med(t, 'requests2'))}`, t.id === 'proxy' ? `${fixed(m.stat(group, t, 'hopped')?.min)} of ${uploads}` : '–',
      `${fixed(m.stat(group, t, 'verified')?.min)} of ${uploads}${(m.stat(group, t, 'mismatched')?.max ?? 0) > 0 ? ' (DIFFER)' : ''}`,
    ];
    const header = ['Target', 'Errors', 'Time, s', 'PATCH p50, ms', 'PATCH p99, ms', 'tus requests haul1 / haul2', 'Uploads on both instances', 'SHA-256 equal to the source'];
    const proxyVsDirect = wanted.length === 2 ? m.ratio(group, { id: 'proxy', label: '' }, { id: 'direct', label: '' }, 'seconds') : undefined;
    const ratioText = proxyVsDirect ? ` Time through HAProxy / direct: ${times(proxyVsDirect)}.` : '';
    writeReport({
      name: 'scale-out',
      text: [{ title: `Scale-out: ${uploads} concurrent uploads of ${sizeLabel(sizeMiB)}, ${patchMiB} MiB PATCHes (median of ${rounds} round(s))${ratioText}`, table: { header, rows: targets.map(row) } }],
      markdown: {
        table: { header, rows: targets.map(row) },
        caption:
          `${uploads} clients at once, each its own user, ${sizeLabel(sizeMiB)} in ${patchMiB} MiB PATCHes over keep-alive connections, no retries; ` +
          `two Haul instances sharing one PostgreSQL database and one S3 prefix (${s3Description(settings)}) behind Debian's HAProxy ` +
          `(scripts/local-haproxy.sh: round-robin per request, no stickiness) vs the first instance alone; every stored object read back and hashed.${ratioText} ` +
          `Peak RSS ${INSTANCES.map((i) => `${i} ${fixed(peakRssMiB[i])} MiB`).join(', ')}; ${rounds} round(s), targets alternating; ` +
          `${os.cpus().length} CPUs, Node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}. \`npm run bench -- scale-out\`.`,
      },
      json: {
        config: { uploads, sizeMiB, patchMiB, rounds, targets: wanted },
        elapsedS: (Date.now() - started) / 1000,
        peakRssMiB,
        summary: m.summary([group], targets, ['seconds', 'errors', 'patchP50', 'patchP99', 'requests1', 'requests2', 'hopped', 'verified', 'mismatched']),
        samples: m.samples,
      },
    }, log);

    const failed = m.samples.filter((s) => (s.values.errors ?? 0) > 0 || (s.values.mismatched ?? 0) > 0 || s.values.verified !== uploads);
    if (failed.length > 0) throw new Error(`${failed.length} run(s) with failed requests or stored bytes that differ: ${failed.map((s) => `${s.target} round ${s.round}`).join(', ')}`);
  },
};
