// Parallel-upload benchmark (tus Concatenation): tus-js-client with parallelUploads 2, 4, 8
// against one stream, into Haul on disk and Haul on S3, in the same run.
//
// Two Haul servers (disk storage; S3 storage under a run prefix) run side by side with
// WORKER=off (no processing after the upload) and LOG_LEVEL=info, so the "final upload
// assembled" line gives the server's own assembly time. The client is tus-js-client in this
// process, uploading a random file with fs.createReadStream (8 MiB chunks, no retries); for
// parallel uploads the final POST is also timed on the client (onBeforeRequest → onAfterResponse).
// Every (backend, size) group is measured round-robin: the stream counts are run one after
// another with the starting count rotating every round, and the group order rotating too.
// Each upload is checked (HEAD: offset = length = size; one stored file/object of that size),
// then deleted; at the end everything under the S3 run prefix is removed.
//
// env: BENCH_ROUNDS (5: cheap, and single uploads of ~1 s are noisy), BENCH_PARALLEL (1,2,4,8; 1 = one stream, always included),
//      BENCH_DISK_SIZES_MIB (200,1024), BENCH_S3_SIZES_MIB (200) — set BENCH_DISK_SIZES_MIB=200
//      to skip the 1 GiB upload; "" skips the backend — BENCH_BACKENDS (disk,s3),
//      BENCH_CHUNK_MIB (8), BENCH_WARMUP_MIB (32), BENCH_TIMEOUT_MS (per upload), BENCH_KEEP_TMP=1.
//      S3: as in ingest-s3 (local Swift unless S3_BUCKET etc. are set).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processCpuSeconds, processPeakRssMiB } from './lib/children.mjs';
import { envInt, envIntList, envList } from './lib/env.mjs';
import { writeRandomFile } from './lib/files.mjs';
import { diskDataBytes, emptyDir, startHaul } from './lib/haul.mjs';
import { request } from './lib/http-client.mjs';
import { ensureLocalS3 } from './lib/local-services.mjs';
import { benchTempDir, writeResults } from './lib/report.mjs';
import { cleanUpPrefix, createS3, deletePrefix, listObjects, uniquePrefix } from './lib/s3.mjs';
import { fixed, markdownTable, pairedRatio, rotate, sizeLabel, summarize, textTable } from './lib/stats.mjs';
import { tusDelete } from './lib/tus-client.mjs';
import { tusJsUpload } from './lib/tus-js.mjs';

export const name = 'parallel';
export const description = 'tus-js-client parallelUploads 2/4/8 vs one stream, Haul on disk and on S3 (Concatenation)';

const MiB = 1024 * 1024;
const BACKEND_LABELS = { disk: 'disk', s3: 'S3' };
const TUS = { 'Tus-Resumable': '1.0.0' };

/** Parses Haul's JSON log lines; keeps "final upload assembled" entries by upload id. */
function assemblyWatcher() {
  const byId = new Map();
  const waiters = new Map();
  return {
    onLine(line) {
      if (!line.includes('final upload assembled')) return;
      try {
        const entry = JSON.parse(line);
        if (entry.msg !== 'final upload assembled') return;
        byId.set(entry.uploadId, entry);
        waiters.get(entry.uploadId)?.(entry);
      } catch {}
    },
    /** The entry for `uploadId`, waiting up to `ms` for the line to come through the pipe. */
    async get(uploadId, ms = 3000) {
      if (byId.has(uploadId)) return byId.get(uploadId);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters.delete(uploadId);
          resolve(undefined);
        }, ms);
        waiters.set(uploadId, (entry) => {
          clearTimeout(timer);
          waiters.delete(uploadId);
          resolve(entry);
        });
      });
    },
  };
}

async function startBackends({ root, backends, s3Settings, runPrefix, maxSize, log }) {
  const targets = [];
  try {
    for (const backend of backends) {
      const watcher = assemblyWatcher();
      const dataDir = path.join(root, `haul-${backend}`);
      const prefix = `${runPrefix}haul/`;
      const haul = await startHaul({
        name: `haul-${backend}`,
        dataDir,
        logLevel: 'info',
        maxSize,
        env: backend === 's3' ? { ...s3Settings, S3_PREFIX: prefix, S3_PART_SIZE: String(8 * MiB), S3_USE_TAGS: 'false' } : {},
        logFile: path.join(root, `haul-${backend}.log`),
        onLine: watcher.onLine,
      });
      targets.push({ backend, ...haul, watcher, filesDir: path.join(dataDir, 'files'), prefix: backend === 's3' ? prefix : undefined });
      log(`  haul (${backend.padEnd(4)}) pid ${haul.proc.pid}  ${haul.endpoint}${backend === 's3' ? `  keys under ${prefix}` : `  files in ${dataDir}/files`}`);
    }
  } catch (error) {
    await Promise.all(targets.map((t) => t.proc.stop()));
    throw error;
  }
  return targets;
}

/** Bytes stored for `target` right now: data files on disk, or data objects under the prefix. */
async function storedObjects(target, s3, bucket) {
  if (target.backend === 'disk') return [diskDataBytes(target.filesDir)];
  return (await listObjects(s3, bucket, target.prefix)).filter((o) => !o.key.endsWith('.info') && !o.key.endsWith('.part')).map((o) => o.size);
}

async function wipe(target, s3, bucket) {
  if (target.backend === 'disk') emptyDir(target.filesDir);
  else await deletePrefix(s3, bucket, target.prefix);
}

async function measureOnce(target, { s3, bucket, file, size, streams, chunkSize, timeoutMs }) {
  globalThis.gc?.();
  const serverCpu0 = processCpuSeconds(target.proc.pid);
  let result;
  try {
    const up = await tusJsUpload({ endpoint: target.endpoint, file, headers: target.headers, parallel: streams, chunkSize, timeoutMs });
    const serverCpu1 = processCpuSeconds(target.proc.pid);
    result = { ...up, serverCpuS: serverCpu0 === undefined || serverCpu1 === undefined ? undefined : serverCpu1 - serverCpu0 };
    const head = await request(up.url, { method: 'HEAD', headers: { ...TUS, ...target.headers } });
    if (head.status !== 200 || Number(head.headers['upload-offset']) !== size || Number(head.headers['upload-length']) !== size) {
      throw new Error(`HEAD ${up.url}: ${head.status}, offset ${head.headers['upload-offset']}, length ${head.headers['upload-length']}; expected ${size}`);
    }
    const stored = await storedObjects(target, s3, bucket);
    if (stored.length !== 1 || stored[0] !== size) throw new Error(`expected one stored file of ${size} bytes, found ${JSON.stringify(stored)}`);
    if (streams > 1) {
      const entry = await target.watcher.get(up.url.split('/').pop());
      result.assemblyMs = entry?.ms;
      if (entry && entry.partials !== streams) throw new Error(`server assembled ${entry.partials} partials, expected ${streams}`);
    }
  } finally {
    if (result) await tusDelete({ location: result.url, headers: target.headers });
    await wipe(target, s3, bucket);
  }
  return result;
}

export async function run({ log = console.log } = {}) {
  const rounds = envInt('BENCH_ROUNDS', 5);
  const streamCounts = [...new Set([1, ...envIntList('BENCH_PARALLEL', [1, 2, 4, 8])])].sort((a, b) => a - b);
  const backends = envList('BENCH_BACKENDS', ['disk', 's3']);
  for (const b of backends) if (!BACKEND_LABELS[b]) throw new Error(`unknown backend ${b} (disk, s3)`);
  const sizesOf = {
    disk: backends.includes('disk') ? envIntList('BENCH_DISK_SIZES_MIB', [200, 1024]) : [],
    s3: backends.includes('s3') ? envIntList('BENCH_S3_SIZES_MIB', [200]) : [],
  };
  const active = backends.filter((b) => sizesOf[b].length > 0);
  if (active.length === 0) throw new Error('nothing to measure: no backend with sizes');
  const chunkMiB = envInt('BENCH_CHUNK_MIB', 8);
  const warmupMiB = envInt('BENCH_WARMUP_MIB', 32);
  const chunkSize = chunkMiB * MiB;
  const allSizes = [...new Set([...sizesOf.disk, ...sizesOf.s3, warmupMiB])].sort((a, b) => a - b);
  const maxMiB = Math.max(...allSizes);
  const timeoutFor = (bytes) => envInt('BENCH_TIMEOUT_MS', Math.max(300_000, Math.ceil(bytes / (2 * MiB)) * 1000));

  // Source files, plus on disk the partials and the assembled copy of the largest upload.
  const tmp = benchTempDir(name, allSizes.reduce((a, b) => a + b, 0) * MiB + 2 * maxMiB * MiB + 1024 * MiB);
  const s3Settings = active.includes('s3') ? ensureLocalS3(log) : undefined;
  const s3 = s3Settings ? createS3(s3Settings) : undefined;
  const bucket = s3Settings?.S3_BUCKET;
  const runPrefix = uniquePrefix(name);

  log(`parallel: streams ${streamCounts.join(', ')}; ${active.map((b) => `${BACKEND_LABELS[b]} ${sizesOf[b].map(sizeLabel).join(' + ')}`).join(', ')}; ${chunkMiB} MiB chunks, ${rounds} rounds`);
  if (s3Settings) log(`  S3 ${s3Settings.S3_ENDPOINT ?? 'AWS'} bucket ${bucket}, run prefix ${runPrefix}`);
  log(`  temp dir ${tmp.root} (${fixed(tmp.freeBytes / 1024 / MiB, 1)} GiB free), node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  const samples = [];
  const started = Date.now();
  let targets = [];
  let cleanup;
  try {
    const sources = {};
    for (const sizeMiB of allSizes) sources[sizeMiB] = await writeRandomFile(path.join(tmp.root, `source-${sizeMiB}MiB.bin`), sizeMiB * MiB);
    log(`  source files: ${allSizes.map(sizeLabel).join(', ')} of random bytes`);
    targets = await startBackends({ root: tmp.root, backends: active, s3Settings, runPrefix, maxSize: maxMiB * MiB, log });
    const byBackend = Object.fromEntries(targets.map((t) => [t.backend, t]));

    log(`  warm-up: ${warmupMiB} MiB per backend and stream count`);
    for (const t of targets) {
      for (const streams of streamCounts) {
        await measureOnce(t, { s3, bucket, file: sources[warmupMiB], size: warmupMiB * MiB, streams, chunkSize, timeoutMs: timeoutFor(warmupMiB * MiB) });
      }
    }
    const groups = active.flatMap((backend) => sizesOf[backend].map((sizeMiB) => ({ backend, sizeMiB })));
    for (let round = 1; round <= rounds; round++) {
      for (const { backend, sizeMiB } of rotate(groups, round - 1)) {
        const t = byBackend[backend];
        const size = sizeMiB * MiB;
        for (const streams of rotate(streamCounts, round - 1)) {
          const r = await measureOnce(t, { s3, bucket, file: sources[sizeMiB], size, streams, chunkSize, timeoutMs: timeoutFor(size) }).catch((error) => {
            throw new Error(`${backend}, ${sizeLabel(sizeMiB)}, ${streams} streams, round ${round}: ${error.message}\n--- haul (${backend}) output (tail):\n${t.proc.logs().slice(-4000)}`, { cause: error });
          });
          samples.push({ round, backend, sizeMiB, streams, ms: r.ms, mibps: sizeMiB / (r.ms / 1000), finalPostMs: r.finalPostMs, assemblyMs: r.assemblyMs, serverCpuS: r.serverCpuS });
          log(
            `  round ${round}/${rounds}  ${backend.padEnd(4)} ${sizeLabel(sizeMiB).padStart(7)}  ${String(streams).padStart(2)} stream${streams > 1 ? 's' : ' '}  ` +
              `${fixed(r.ms / 1000, 2).padStart(6)} s  ${fixed(sizeMiB / (r.ms / 1000), 1).padStart(6)} MiB/s` +
              (streams > 1 ? `  final POST ${fixed(r.finalPostMs)} ms, assembly ${fixed(r.assemblyMs)} ms (server)` : '') +
              `  server CPU ${fixed(r.serverCpuS, 2)} s`,
          );
        }
      }
    }
  } finally {
    for (const t of targets) t.peakRssMiB = processPeakRssMiB(t.proc.pid);
    const stopped = await Promise.all(targets.map((t) => t.proc.stop()));
    stopped.forEach(({ code, signal }, i) => {
      if (code !== 0) log(`  note: haul (${targets[i].backend}) exited with ${signal ?? code}`);
    });
    if (s3) {
      cleanup = await cleanUpPrefix(s3, s3Settings, runPrefix).catch((error) => ({ left: -1, text: `S3 clean-up of ${runPrefix} failed: ${error.message}` }));
      log(`  ${cleanup.text}`);
    }
    tmp.remove();
  }
  const elapsedS = (Date.now() - started) / 1000;

  // ---- summary
  const summary = [];
  for (const backend of active) {
    for (const sizeMiB of sizesOf[backend]) {
      const of = (streams, round) => samples.find((s) => s.backend === backend && s.sizeMiB === sizeMiB && s.streams === streams && s.round === round);
      for (const streams of streamCounts) {
        const mine = samples.filter((s) => s.backend === backend && s.sizeMiB === sizeMiB && s.streams === streams);
        const pairs = [];
        for (let round = 1; round <= rounds; round++) pairs.push([of(1, round)?.ms, of(streams, round)?.ms]);
        summary.push({
          backend,
          sizeMiB,
          streams,
          seconds: summarize(mine.map((s) => s.ms / 1000)),
          mibps: summarize(mine.map((s) => s.mibps)),
          // time with one stream / time with N streams: > 1 is faster
          speedup: pairedRatio(pairs),
          finalPostMs: streams > 1 ? summarize(mine.map((s) => s.finalPostMs)) : undefined,
          assemblyMs: streams > 1 && mine.every((s) => s.assemblyMs !== undefined) ? summarize(mine.map((s) => s.assemblyMs)) : undefined,
          serverCpuS: summarize(mine.map((s) => s.serverCpuS ?? NaN)),
        });
      }
    }
  }
  const range = (s, digits = 0) => (s ? `${fixed(s.median, digits)} (${fixed(s.min, digits)}–${fixed(s.max, digits)})` : '–');
  const speed = (s) => (s.streams === 1 ? '1 (baseline)' : s.speedup ? `${fixed(s.speedup.ofMedians, 2)}× (${fixed(s.speedup.pairedMin, 2)}–${fixed(s.speedup.pairedMax, 2)})` : '–');

  log('');
  log(`Parallel uploads, seconds per upload: median (min–max) over ${rounds} rounds; speedup = one-stream time / this time`);
  log(
    textTable(
      ['storage, size', 'streams', 'median s', 'min', 'max', 'MiB/s', 'speedup', 'final POST ms', 'assembly ms', 'server CPU s'],
      summary.map((s) => [
        `${BACKEND_LABELS[s.backend]}, ${sizeLabel(s.sizeMiB)}`,
        s.streams,
        fixed(s.seconds.median, 2),
        fixed(s.seconds.min, 2),
        fixed(s.seconds.max, 2),
        fixed(s.mibps.median, 1),
        s.streams === 1 ? '1' : fixed(s.speedup?.ofMedians, 2),
        s.finalPostMs ? fixed(s.finalPostMs.median) : '–',
        s.assemblyMs ? fixed(s.assemblyMs.median) : '–',
        fixed(s.serverCpuS.median, 2),
      ]),
    ),
  );

  const markdown = [
    markdownTable(
      ['Storage, upload', 'Streams', 'Total time, s', 'Speedup vs 1 stream', 'Final POST, ms (client)', 'Assembly, ms (server log)'],
      summary.map((s) => [
        `${BACKEND_LABELS[s.backend]}, ${sizeLabel(s.sizeMiB)}`,
        s.streams === 1 ? '1' : String(s.streams),
        range(s.seconds, 2),
        speed(s),
        s.finalPostMs ? range(s.finalPostMs) : '–',
        s.assemblyMs ? range(s.assemblyMs) : '–',
      ]),
    ),
    '',
    `Median (min–max) of ${rounds} rounds; stream counts measured alternately within each storage/size, speedup = ratio of medians ` +
      `(per-round range). tus-js-client ${chunkMiB} MiB chunks from a file on local disk; Haul with WORKER=off` +
      (s3Settings ? `; S3: ${s3Settings.S3_ENDPOINT?.startsWith('http://127.0.0.1') ? 'local OpenStack Swift (s3api) on the same machine' : s3Settings.S3_ENDPOINT ?? 'AWS'}` : '') +
      `; ${os.cpus().length} CPUs, Node ${process.version}, 127.0.0.1. \`npm run bench -- parallel\`.`,
  ].join('\n');
  log('');
  log('Markdown:');
  log('');
  log(markdown);

  const file = writeResults(name, {
    config: { rounds, streamCounts, backends: active, sizesMiB: sizesOf, chunkMiB, warmupMiB, s3Endpoint: s3Settings?.S3_ENDPOINT, runPrefix: s3 ? runPrefix : undefined },
    elapsedS,
    peakRssMiB: Object.fromEntries(targets.map((t) => [t.backend, t.peakRssMiB])),
    s3LeftAfterCleanup: cleanup?.left,
    summary,
    samples,
    markdown,
  });
  log('');
  log(`wrote ${file} (${fixed(elapsedS)} s of measuring)`);
}
