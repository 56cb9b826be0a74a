// S3-ingest benchmark: how fast can a client push bytes through Haul into S3, compared with
// bare @tus/server + @tus/s3-store (baselines/bare-tus-s3.mjs) on the same S3 in the same run?
//
// Both servers run as child processes side by side, each writing under its own key prefix of
// one run prefix, and are measured alternately (the starting target rotates every round). Each
// upload is checked in the bucket (one object of the right size) and then removed; at the end
// everything under the run prefix is deleted (Swift segments included).
//
// S3: the local Swift of scripts/local-s3.sh (started if needed, never stopped), or any S3 when
// S3_BUCKET, S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY are set in the environment.
//
// env: BENCH_ROUNDS (3), BENCH_SIZES_MIB (50,200), BENCH_CHUNK_MIB (8), BENCH_WARMUP_MIB (16),
//      BENCH_MODES (whole,chunked), BENCH_TARGETS (haul,bare-tus-s3), BENCH_TIMEOUT_MS (per request),
//      BENCH_HAUL_LOG_LEVEL (warn), BENCH_KEEP_TMP=1 (keep the temp dir).
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processCpuSeconds, processPeakRssMiB, startChild } from './lib/children.mjs';
import { envInt, envIntList, envList } from './lib/env.mjs';
import { baseEnv, startHaul } from './lib/haul.mjs';
import { ensureLocalS3 } from './lib/local-services.mjs';
import { benchTempDir, writeResults } from './lib/report.mjs';
import { cleanUpPrefix, createS3, deletePrefix, listObjects, uniquePrefix } from './lib/s3.mjs';
import { fixed, markdownTable, median, pairedRatio, rotate, sizeLabel, summarize, textTable } from './lib/stats.mjs';
import { tusDelete, tusUpload } from './lib/tus-client.mjs';

export const name = 'ingest-s3';
export const description = 'tus upload throughput to S3: Haul vs bare @tus/server + S3Store, same S3';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const TARGET_LABELS = { haul: 'Haul', 'bare-tus-s3': 'bare @tus/server + S3Store' };
const MODE_LABELS = { whole: '1 PATCH', chunked: 'PATCHes' };

async function startTargets({ root, wanted, s3Settings, runPrefix, maxSize, log }) {
  const targets = [];
  try {
    if (wanted.includes('haul')) {
      const prefix = `${runPrefix}haul/`;
      const haul = await startHaul({
        dataDir: path.join(root, 'haul'),
        logLevel: process.env.BENCH_HAUL_LOG_LEVEL || 'warn',
        maxSize,
        env: { ...s3Settings, S3_PREFIX: prefix, S3_PART_SIZE: String(8 * MiB), S3_USE_TAGS: 'false' },
        logFile: path.join(root, 'haul.log'),
      });
      targets.push({ id: 'haul', proc: haul.proc, endpoint: haul.endpoint, headers: haul.headers, prefix, deletes: true });
    }
    if (wanted.includes('bare-tus-s3')) {
      const prefix = `${runPrefix}bare/`;
      const proc = await startChild({
        name: 'bare-tus-s3',
        args: [path.join(BENCH_DIR, 'baselines', 'bare-tus-s3.mjs')],
        env: { ...baseEnv(), ...s3Settings, PREFIX: prefix, PART_SIZE: String(8 * MiB), PORT: '0', HOST: '127.0.0.1' },
        readyMsg: 'listening',
        logFile: path.join(root, 'bare-tus-s3.log'),
      });
      // S3Store.remove gives up on completed uploads (their multipart upload is gone), so the
      // benchmark removes bare uploads from the bucket directly instead of with tus DELETE.
      targets.push({ id: 'bare-tus-s3', proc, endpoint: `${proc.url}/files/`, headers: {}, prefix, deletes: false });
    }
  } catch (error) {
    await Promise.all(targets.map((t) => t.proc.stop()));
    throw error;
  }
  for (const t of targets) {
    t.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    log(`  ${t.id.padEnd(11)} pid ${t.proc.pid}  ${t.endpoint}  keys under ${t.prefix}`);
  }
  return targets;
}

/** One upload; checks the bucket holds exactly one object of `size` bytes; removes it. */
async function measureOnce(target, { s3, bucket, size, chunkSize, timeoutMs }) {
  globalThis.gc?.();
  const serverCpu0 = processCpuSeconds(target.proc.pid);
  const clientCpu0 = process.cpuUsage();
  let result;
  try {
    result = await tusUpload({ endpoint: target.endpoint, size, chunkSize, headers: target.headers, agent: target.agent, timeoutMs });
    const serverCpu1 = processCpuSeconds(target.proc.pid);
    const clientCpu = process.cpuUsage(clientCpu0);
    result.serverCpuS = serverCpu0 === undefined || serverCpu1 === undefined ? undefined : serverCpu1 - serverCpu0;
    result.clientCpuS = (clientCpu.user + clientCpu.system) / 1e6;
    const data = (await listObjects(s3, bucket, target.prefix)).filter((o) => !o.key.endsWith('.info') && !o.key.endsWith('.part'));
    if (data.length !== 1 || data[0].size !== size) {
      throw new Error(`${target.id}: expected one object of ${size} bytes under ${target.prefix}, found ${JSON.stringify(data)}`);
    }
  } finally {
    if (result && target.deletes) await tusDelete({ location: result.location, headers: target.headers, agent: target.agent });
    await deletePrefix(s3, bucket, target.prefix);
  }
  return result;
}

export async function run({ log = console.log } = {}) {
  const rounds = envInt('BENCH_ROUNDS', 3);
  const sizesMiB = envIntList('BENCH_SIZES_MIB', [50, 200]);
  const chunkMiB = envInt('BENCH_CHUNK_MIB', 8);
  const warmupMiB = envInt('BENCH_WARMUP_MIB', 16);
  const modes = envList('BENCH_MODES', ['whole', 'chunked']);
  const wanted = envList('BENCH_TARGETS', ['haul', 'bare-tus-s3']);
  for (const m of modes) if (!MODE_LABELS[m]) throw new Error(`unknown mode ${m} (whole, chunked)`);
  for (const t of wanted) if (!TARGET_LABELS[t]) throw new Error(`unknown target ${t} (${Object.keys(TARGET_LABELS).join(', ')})`);
  const chunkSize = chunkMiB * MiB;
  const maxSize = Math.max(...sizesMiB) * MiB;
  // Generous: a PATCH at 2 MiB/s still finishes.
  const timeoutFor = (bytes) => envInt('BENCH_TIMEOUT_MS', Math.max(120_000, Math.ceil(bytes / (2 * MiB)) * 1000));

  const s3Settings = ensureLocalS3(log);
  const s3 = createS3(s3Settings);
  const bucket = s3Settings.S3_BUCKET;
  const runPrefix = uniquePrefix(name);
  // Both S3Store servers spool parts (partSize) in os.tmpdir(); Swift keeps its data on disk too.
  const tmp = benchTempDir(name, 2 * maxSize + 1024 * MiB);

  log(`ingest-s3: ${sizesMiB.map(sizeLabel).join(' and ')} per upload, modes ${modes.join('+')} (chunks of ${chunkMiB} MiB), ${rounds} rounds`);
  log(`  S3 ${s3Settings.S3_ENDPOINT ?? 'AWS'} bucket ${bucket}, run prefix ${runPrefix}`);
  log(`  temp dir ${tmp.root} (${fixed(tmp.freeBytes / 1024 / MiB, 1)} GiB free), node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  const samples = [];
  const started = Date.now();
  let targets = [];
  let cleanup;
  try {
    targets = await startTargets({ root: tmp.root, wanted, s3Settings, runPrefix, maxSize, log });
    log(`  warm-up: ${warmupMiB} MiB per target and mode`);
    for (const t of targets) {
      for (const mode of modes) {
        const size = warmupMiB * MiB;
        await measureOnce(t, { s3, bucket, size, chunkSize: mode === 'whole' ? size : Math.min(chunkSize, size), timeoutMs: timeoutFor(size) });
      }
    }
    for (let round = 1; round <= rounds; round++) {
      for (const sizeMiB of sizesMiB) {
        const size = sizeMiB * MiB;
        for (const mode of modes) {
          const modeChunk = mode === 'whole' ? size : chunkSize;
          for (const t of rotate(targets, round - 1)) {
            const r = await measureOnce(t, { s3, bucket, size, chunkSize: modeChunk, timeoutMs: timeoutFor(Math.min(size, modeChunk)) }).catch((error) => {
              throw new Error(`${t.id}, ${sizeMiB} MiB ${mode}, round ${round}: ${error.message}\n--- ${t.id} output (tail):\n${t.proc.logs().slice(-4000)}`, { cause: error });
            });
            const mibps = sizeMiB / (r.ms / 1000);
            samples.push({ round, sizeMiB, mode, target: t.id, ms: r.ms, mibps, patches: r.patches, serverCpuS: r.serverCpuS, clientCpuS: r.clientCpuS });
            log(`  round ${round}/${rounds}  ${sizeLabel(sizeMiB).padStart(7)} ${mode.padEnd(7)}  ${t.id.padEnd(11)}  ${fixed(mibps, 1).padStart(6)} MiB/s  ${fixed(r.ms).padStart(6)} ms  server CPU ${fixed(r.serverCpuS, 2)} s`);
          }
        }
      }
    }
  } finally {
    for (const t of targets) {
      t.peakRssMiB = processPeakRssMiB(t.proc.pid);
      t.agent.destroy();
    }
    const stopped = await Promise.all(targets.map((t) => t.proc.stop()));
    stopped.forEach(({ code, signal }, i) => {
      if (code !== 0) log(`  note: ${targets[i].id} exited with ${signal ?? code}`);
    });
    cleanup = await cleanUpPrefix(s3, s3Settings, runPrefix).catch((error) => ({ left: -1, text: `S3 clean-up of ${runPrefix} failed: ${error.message}` }));
    log(`  ${cleanup.text}`);
    tmp.remove();
  }
  const elapsedS = (Date.now() - started) / 1000;

  // ---- summary
  const summary = [];
  const ratios = [];
  for (const sizeMiB of sizesMiB) {
    for (const mode of modes) {
      for (const t of targets) {
        const mine = samples.filter((s) => s.sizeMiB === sizeMiB && s.mode === mode && s.target === t.id);
        summary.push({
          sizeMiB,
          mode,
          target: t.id,
          mibps: summarize(mine.map((s) => s.mibps)),
          ms: summarize(mine.map((s) => s.ms)),
          serverCpuSPerGiB: mine.every((s) => s.serverCpuS !== undefined) ? median(mine.map((s) => s.serverCpuS / (sizeMiB / 1024))) : undefined,
        });
      }
      const pairs = [];
      for (let round = 1; round <= rounds; round++) {
        const pick = (target) => samples.find((s) => s.sizeMiB === sizeMiB && s.mode === mode && s.target === target && s.round === round)?.mibps;
        pairs.push([pick('haul'), pick('bare-tus-s3')]);
      }
      ratios.push({ sizeMiB, mode, haulOverBare: pairedRatio(pairs) });
    }
  }
  const get = (sizeMiB, mode, target) => summary.find((s) => s.sizeMiB === sizeMiB && s.mode === mode && s.target === target);
  const ratioOf = (sizeMiB, mode) => ratios.find((r) => r.sizeMiB === sizeMiB && r.mode === mode)?.haulOverBare;
  const pct = (r) => (r ? `${fixed(r.ofMedians * 100)}%` : '–');
  const pairedRange = (r) => (r ? `${fixed(r.pairedMin * 100)}–${fixed(r.pairedMax * 100)}%` : '–');
  const cell = (s) => (s ? `${fixed(s.mibps.median, 1)} (${fixed(s.mibps.min, 1)}–${fixed(s.mibps.max, 1)})` : '–');
  const modeText = (mode) => (mode === 'whole' ? 'one PATCH' : `${chunkMiB} MiB PATCHes`);

  log('');
  log(`S3 ingest, MiB/s: median (min–max) over ${rounds} rounds; server CPU seconds per GiB (median)`);
  log(
    textTable(
      ['upload', 'target', 'median', 'min', 'max', 'server CPU s/GiB', 'peak RSS MiB'],
      summary.map((s) => [
        `${sizeLabel(s.sizeMiB)}, ${modeText(s.mode)}`,
        TARGET_LABELS[s.target],
        fixed(s.mibps.median, 1),
        fixed(s.mibps.min, 1),
        fixed(s.mibps.max, 1),
        fixed(s.serverCpuSPerGiB, 2),
        fixed(targets.find((t) => t.id === s.target).peakRssMiB),
      ]),
    ),
  );
  log('');
  log(textTable(['upload', 'Haul / bare', '(paired min–max)'], ratios.map((r) => [`${sizeLabel(r.sizeMiB)}, ${modeText(r.mode)}`, pct(r.haulOverBare), pairedRange(r.haulOverBare)])));

  const both = targets.length === 2;
  const markdown = [
    markdownTable(
      ['Upload to S3', ...targets.map((t) => TARGET_LABELS[t.id]), ...(both ? ['Haul / bare'] : [])],
      sizesMiB.flatMap((sizeMiB) =>
        modes.map((mode) => [
          `${sizeLabel(sizeMiB)}, ${modeText(mode)}`,
          ...targets.map((t) => cell(get(sizeMiB, mode, t.id))),
          ...(both ? [`${pct(ratioOf(sizeMiB, mode))} (${pairedRange(ratioOf(sizeMiB, mode))})`] : []),
        ]),
      ),
    ),
    '',
    `MiB/s, median (min–max) of ${rounds} rounds, targets measured alternately; ratio of medians (per-round range). ` +
      `S3: ${s3Settings.S3_ENDPOINT?.startsWith('http://127.0.0.1') ? 'local OpenStack Swift (s3api) on the same machine' : s3Settings.S3_ENDPOINT ?? 'AWS'}, ` +
      `8 MiB parts; ${os.cpus().length} CPUs, Node ${process.version}, client and servers on 127.0.0.1. \`npm run bench -- ingest-s3\`.`,
  ].join('\n');
  log('');
  log('Markdown:');
  log('');
  log(markdown);

  const file = writeResults(name, {
    config: { rounds, sizesMiB, chunkMiB, warmupMiB, modes, targets: targets.map((t) => t.id), s3Endpoint: s3Settings.S3_ENDPOINT, bucket, runPrefix, partSizeMiB: 8 },
    elapsedS,
    peakRssMiB: Object.fromEntries(targets.map((t) => [t.id, t.peakRssMiB])),
    s3LeftAfterCleanup: cleanup?.left,
    summary,
    ratios,
    samples,
    markdown,
  });
  log('');
  log(`wrote ${file} (${fixed(elapsedS)} s of measuring)`);
}
