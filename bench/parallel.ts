import os from 'node:os';
import path from 'node:path';
import { type Backend, type BackendHaul, startBackendHaul, stopBackendHauls } from './lib/backend-haul.js';
import { withCpuOf } from './lib/children.js';
import { envChoices, envInt, envIntList } from './lib/env.js';
import { writeRandomFile } from './lib/files.js';
import { type Benchmark, measureAlternately, type Named } from './lib/harness.js';
import { diskDataBytes, emptyDir } from './lib/haul.js';
import { benchTempDir, fixed, machineLine, range, sizeLabel, times, writeReport } from './lib/report.js';
import { createS3, dataObjectSizes, deletePrefix, uniquePrefix } from './lib/s3.js';
import { ensureLocalS3, s3Description } from './lib/services.js';
import { expectComplete, tusDelete } from './lib/tus-client.js';
import { tusJsUpload } from './lib/tus-js.js';

/**
 * Parallel uploads (tus Concatenation): tus-js-client with parallelUploads 2, 4, 8 against one
 * stream, into Haul on disk and Haul on S3 (under a run prefix), side by side. Haul runs with
 * WORKER=off and LOG_LEVEL=info, so its "final upload assembled" line gives the server's own
 * assembly time; the client times the final POST. The client uploads a random file with
 * fs.createReadStream (8 MiB chunks, no retries). Each upload is checked (HEAD: offset = length
 * = size; one stored file or object of that size), then deleted.
 *
 * env: BENCH_ROUNDS (5: cheap, and single uploads of ~1 s are noisy), BENCH_PARALLEL (1,2,4,8; 1 = one stream, always included),
 *      BENCH_DISK_SIZES_MIB (200,1024), BENCH_S3_SIZES_MIB (200) — set BENCH_DISK_SIZES_MIB=200
 *      to skip the 1 GiB upload; "" skips the backend — BENCH_BACKENDS (disk,s3),
 *      BENCH_CHUNK_MIB (8), BENCH_WARMUP_MIB (32), BENCH_TIMEOUT_MS (per upload), BENCH_KEEP_TMP=1.
 *      S3: as in ingest-s3 (local Swift unless S3_BUCKET etc. are set).
 */

const MiB = 2 ** 20;
const BACKEND_LABELS: Record<Backend, string> = { disk: 'disk', s3: 'S3' };

interface Server extends BackendHaul {
  /** The server's "final upload assembled" log entries by upload id. */
  assembled: Map<string, { ms?: number; partials?: number }>;
}

/** Waits up to `ms` for `get()` to be defined: a log line may still be in the pipe. */
async function soon<T>(get: () => T | undefined, ms = 3000): Promise<T | undefined> {
  for (const deadline = Date.now() + ms; get() === undefined && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  return get();
}

export const benchmark: Benchmark = {
  name: 'parallel',
  description: 'tus-js-client parallelUploads 2/4/8 vs one stream, Haul on disk and on S3 (Concatenation)',
  async run(log) {
    const rounds = envInt('BENCH_ROUNDS', 5);
    const streamCounts = [...new Set([1, ...envIntList('BENCH_PARALLEL', [1, 2, 4, 8])])].sort((a, b) => a - b);
    const backends = envChoices('BENCH_BACKENDS', Object.keys(BACKEND_LABELS) as Backend[]);
    const sizesOf: Record<Backend, number[]> = {
      disk: backends.includes('disk') ? envIntList('BENCH_DISK_SIZES_MIB', [200, 1024]) : [],
      s3: backends.includes('s3') ? envIntList('BENCH_S3_SIZES_MIB', [200]) : [],
    };
    const active = backends.filter((b) => sizesOf[b].length > 0);
    if (active.length === 0) throw new Error('nothing to measure: no backend with sizes');
    const chunkSize = envInt('BENCH_CHUNK_MIB', 8) * MiB;
    const warmupMiB = envInt('BENCH_WARMUP_MIB', 32);
    const allSizes = [...new Set([...sizesOf.disk, ...sizesOf.s3, warmupMiB])].sort((a, b) => a - b);
    const maxMiB = Math.max(...allSizes);
    const timeoutMs = (bytes: number) => envInt('BENCH_TIMEOUT_MS', Math.max(300_000, Math.ceil(bytes / (2 * MiB)) * 1000));
    const groups = active.flatMap((backend) => sizesOf[backend].map((sizeMiB): Named & { backend: Backend; sizeMiB: number } => ({
      id: `${backend}-${sizeMiB}MiB`, label: `${BACKEND_LABELS[backend]}, ${sizeLabel(sizeMiB)}`, backend, sizeMiB,
    })));
    const streams = streamCounts.map((n): Named & { streams: number } => ({ id: String(n), label: n === 1 ? '1 stream' : `${n} streams`, streams: n }));

    // Source files, plus on disk the partials and the assembled copy of the largest upload.
    const tmp = benchTempDir('parallel', allSizes.reduce((a, b) => a + b, 0) * MiB + 2 * maxMiB * MiB + 1024 * MiB);
    const settings = active.includes('s3') ? ensureLocalS3(log) : undefined;
    const s3 = settings && createS3(settings);
    const runPrefix = uniquePrefix('parallel');
    log(`parallel: streams ${streamCounts.join(', ')}; ${groups.map((g) => g.label).join(', ')}; ${chunkSize / MiB} MiB chunks, ${rounds} rounds`);
    if (settings) log(`  S3 ${settings.S3_ENDPOINT ?? 'AWS'} bucket ${settings.S3_BUCKET}, run prefix ${runPrefix}`);
    log(`  temp dir ${tmp.root} (${fixed(tmp.freeBytes / 2 ** 30, 1)} GiB free), ${machineLine()}`);

    const servers = new Map<Backend, Server>();
    const started = Date.now();
    let peakRssMiB: Record<string, number | undefined> = {};
    let cleanup: { left: number; text: string } | undefined;
    let measured;
    try {
      const sources = new Map<number, string>();
      for (const sizeMiB of allSizes) sources.set(sizeMiB, await writeRandomFile(path.join(tmp.root, `source-${sizeMiB}MiB.bin`), sizeMiB * MiB));
      log(`  source files: ${allSizes.map(sizeLabel).join(', ')} of random bytes`);
      for (const backend of active) {
        const assembled = new Map<string, { ms?: number; partials?: number }>();
        const haul = await startBackendHaul(backend, {
          root: tmp.root, runPrefix, settings, logLevel: 'info', maxSize: maxMiB * MiB,
          onLine(line) {
            if (!line.includes('final upload assembled')) return;
            try {
              const entry = JSON.parse(line) as { msg?: string; uploadId?: string; ms?: number; partials?: number };
              if (entry.msg === 'final upload assembled' && entry.uploadId) assembled.set(entry.uploadId, entry);
            } catch {}
          },
        });
        servers.set(backend, { ...haul, assembled });
        log(`  haul (${backend.padEnd(4)}) pid ${haul.child.pid}  ${haul.endpoint}  ${'prefix' in haul.store ? `keys under ${haul.store.prefix}` : `files in ${haul.store.dir}`}`);
      }

      const stored = async (server: Server) =>
        'dir' in server.store ? [diskDataBytes(server.store.dir)] : await dataObjectSizes(s3!, settings!.S3_BUCKET, server.store.prefix);
      /** One upload of `sizeMiB`, checked (HEAD, storage, the server's assembly), then deleted and wiped. */
      const uploadOnce = async (server: Server, sizeMiB: number, parallel: number) => {
        const size = sizeMiB * MiB;
        let url: string | undefined;
        try {
          const { result, cpuS } = await withCpuOf(server.child.pid, () =>
            tusJsUpload({ endpoint: server.endpoint, file: sources.get(sizeMiB)!, headers: server.headers, parallel, chunkSize, timeoutMs: timeoutMs(size) }));
          url = result.url;
          await expectComplete(url, size, server.headers);
          const sizes = await stored(server);
          if (sizes.length !== 1 || sizes[0] !== size) throw new Error(`expected one stored file of ${size} bytes, found ${JSON.stringify(sizes)}`);
          const assembly = parallel > 1 ? await soon(() => server.assembled.get(new URL(url!).pathname.split('/').pop()!)) : undefined;
          if (assembly && assembly.partials !== parallel) throw new Error(`server assembled ${assembly.partials} partials, expected ${parallel}`);
          return { ...result, serverCpuS: cpuS, assemblyMs: assembly?.ms };
        } finally {
          if (url) await tusDelete(url, server);
          if ('dir' in server.store) emptyDir(server.store.dir);
          else await deletePrefix(s3!, settings!.S3_BUCKET, server.store.prefix);
        }
      };

      log(`  warm-up: ${warmupMiB} MiB per backend and stream count`);
      for (const server of servers.values()) for (const n of streamCounts) await uploadOnce(server, warmupMiB, n);

      measured = await measureAlternately({
        rounds,
        groups,
        targets: streams,
        log,
        async measure(target, group) {
          const r = await uploadOnce(servers.get(group.backend)!, group.sizeMiB, target.streams);
          return { values: { seconds: r.ms / 1000, mibps: group.sizeMiB / (r.ms / 1000), finalPostMs: r.finalPostMs, assemblyMs: r.assemblyMs, serverCpuS: r.serverCpuS } };
        },
        describe: ({ values: v }, target, group) =>
          `${group.label.padEnd(13)}  ${target.label.padStart(10)}  ${fixed(v.seconds, 2).padStart(6)} s  ${fixed(v.mibps, 1).padStart(6)} MiB/s` +
          (target.streams > 1 ? `  final POST ${fixed(v.finalPostMs)} ms, assembly ${fixed(v.assemblyMs)} ms (server)` : '') +
          `  server CPU ${fixed(v.serverCpuS, 2)} s`,
        onError: (_, group) => `--- haul (${group.backend}) output (tail):\n${servers.get(group.backend)!.child.logs().slice(-4000)}`,
      });
    } finally {
      ({ peakRssMiB, cleanup } = await stopBackendHauls(servers.values(), { s3, settings, runPrefix }, log));
      tmp.remove();
    }

    const m = measured;
    const one = streams[0]!;
    /** Time with one stream over time with N streams: > 1 is faster. */
    const speedup = (g: Named, t: Named) => (t === one ? '1 (baseline)' : times(m.ratio(g, one, t, 'seconds')));
    const rows = groups.flatMap((g) => streams.map((t) => ({ g, t })));
    writeReport({
      name: 'parallel',
      text: [{
        title: `Parallel uploads: median (min–max) over ${rounds} rounds; speedup = one-stream time / this time`,
        table: {
          header: ['storage, size', 'streams', 'seconds', 'MiB/s', 'speedup', 'final POST ms', 'assembly ms', 'server CPU s'],
          rows: rows.map(({ g, t }) => [
            g.label, t.id, range(m.stat(g, t, 'seconds'), 2), fixed(m.stat(g, t, 'mibps')?.median, 1), speedup(g, t),
            fixed(m.stat(g, t, 'finalPostMs')?.median), fixed(m.stat(g, t, 'assemblyMs')?.median), fixed(m.stat(g, t, 'serverCpuS')?.median, 2),
          ]),
        },
      }],
      markdown: {
        table: {
          header: ['Storage, upload', 'Streams', 'Total time, s', 'Speedup vs 1 stream', 'Final POST, ms (client)', 'Assembly, ms (server log)'],
          rows: rows.map(({ g, t }) => [g.label, t.id, range(m.stat(g, t, 'seconds'), 2), speedup(g, t), range(m.stat(g, t, 'finalPostMs')), range(m.stat(g, t, 'assemblyMs'))]),
        },
        caption:
          `Median (min–max) of ${rounds} rounds; stream counts measured alternately within each storage/size, speedup = ratio of medians ` +
          `(per-round range). tus-js-client ${chunkSize / MiB} MiB chunks from a file on local disk; Haul with WORKER=off` +
          (settings ? `; S3: ${s3Description(settings)}` : '') +
          `; ${os.cpus().length} CPUs, Node ${process.version}, 127.0.0.1. \`npm run bench -- parallel\`.`,
      },
      json: {
        config: { rounds, streamCounts, backends: active, sizesMiB: sizesOf, chunkMiB: chunkSize / MiB, warmupMiB, s3Endpoint: settings?.S3_ENDPOINT, runPrefix: s3 ? runPrefix : undefined },
        elapsedS: (Date.now() - started) / 1000,
        peakRssMiB,
        s3LeftAfterCleanup: cleanup?.left,
        summary: m.summary(groups, streams, ['seconds', 'mibps', 'finalPostMs', 'assemblyMs', 'serverCpuS']),
        speedups: rows.filter(({ t }) => t !== one).map(({ g, t }) => ({ group: g.id, streams: t.streams, oneOverThis: m.ratio(g, one, t, 'seconds') })),
        samples: m.samples,
      },
    }, log);
  },
};
