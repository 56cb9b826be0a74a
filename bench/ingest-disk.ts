import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withCpuOf } from './lib/children.js';
import { envChoices, envInt } from './lib/env.js';
import { type Benchmark, measureAlternately } from './lib/harness.js';
import { diskDataBytes, emptyDir, nodeFlags, startHaul } from './lib/haul.js';
import { PATCH_MODES, patchMode } from './lib/patch-modes.js';
import { benchTempDir, fixed, machineLine, percent, percentRange, range, sizeLabel, writeReport } from './lib/report.js';
import { type ServerTarget, serverTarget, startBaseline, stopServers } from './lib/servers.js';
import { tusDelete, tusUpload } from './lib/tus-client.js';

/**
 * Disk ingest: how fast a client pushes bytes into Haul (disk storage), against bare
 * @tus/server + FileStore and a raw node:http pipe into a file, the three servers side by side.
 *
 * env: BENCH_ROUNDS (5), BENCH_SIZE_MIB (1024), BENCH_CHUNK_MIB (8), BENCH_WARMUP_MIB (256),
 *      BENCH_MODES (whole,chunked), BENCH_TARGETS (haul,bare-tus,raw-pipe),
 *      BENCH_TIMEOUT_MS (per request), BENCH_PROFILE=<dir> (run the servers with --cpu-prof),
 *      BENCH_NODE_ARGS (extra node flags for the servers, e.g. "--trace-gc"),
 *      BENCH_HAUL_LOG_LEVEL (warn), BENCH_KEEP_TMP=1 (keep the temp dir for inspection).
 */

const MiB = 2 ** 20;
const LABELS = { haul: 'Haul', 'bare-tus': 'bare @tus/server', 'raw-pipe': 'raw pipe' } as const;
type TargetId = keyof typeof LABELS;

interface DiskTarget extends ServerTarget {
  /** Where its upload data lands. */
  uploadDir: string;
}

export const benchmark: Benchmark = {
  name: 'ingest-disk',
  description: 'tus upload throughput to disk: Haul vs bare @tus/server vs raw pipe',
  async run(log) {
    const rounds = envInt('BENCH_ROUNDS', 5);
    const sizeMiB = envInt('BENCH_SIZE_MIB', 1024);
    const chunkMiB = envInt('BENCH_CHUNK_MIB', 8);
    const warmupMiB = envInt('BENCH_WARMUP_MIB', 256);
    const modes = envChoices('BENCH_MODES', PATCH_MODES);
    const wanted = envChoices('BENCH_TARGETS', Object.keys(LABELS) as TargetId[]);
    const profileDir = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;
    const haulLogLevel = process.env.BENCH_HAUL_LOG_LEVEL || 'warn';
    const size = sizeMiB * MiB;
    // Generous: a 1 GiB PATCH at 5 MiB/s still finishes.
    const timeoutFor = (bytes: number) => envInt('BENCH_TIMEOUT_MS', Math.max(120_000, Math.ceil(bytes / (5 * MiB)) * 1000));
    if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
    const groups = modes.map((mode) => patchMode(mode, sizeMiB, chunkMiB));

    // Only one upload exists at a time, but leave room for it plus slack.
    const tmp = benchTempDir('ingest-disk', size * 2 + 512 * MiB);
    log(`ingest-disk: ${sizeLabel(sizeMiB)} per upload, ${groups.map((g) => g.label).join(' and ')}, ${rounds} rounds`);
    log(`  temp dir ${tmp.root} (${fixed(tmp.freeBytes / 2 ** 30, 1)} GiB free), ${machineLine()}`);

    const targets: DiskTarget[] = [];
    const started = Date.now();
    let peakRssMiB: Record<string, number | undefined> = {};
    let measured;
    try {
      for (const id of wanted) {
        const dir = path.join(tmp.root, id);
        const nodeArgs = nodeFlags(id, profileDir);
        if (id === 'haul') {
          const haul = await startHaul({ dataDir: dir, logLevel: haulLogLevel, maxSize: size, nodeArgs, logFile: path.join(tmp.root, 'haul.log') });
          targets.push({ ...serverTarget(id, LABELS[id], haul.child, haul.endpoint, haul.headers), uploadDir: path.join(dir, 'files') });
        } else {
          fs.mkdirSync(dir);
          const env: Record<string, string> = { DIR: dir };
          if (id === 'bare-tus' && process.env.BARE_TUS_POST_RECEIVE) env.BARE_TUS_POST_RECEIVE = process.env.BARE_TUS_POST_RECEIVE;
          const child = await startBaseline(id, { env, nodeArgs, logDir: tmp.root });
          targets.push({ ...serverTarget(id, LABELS[id], child, `${child.url}/files/`), uploadDir: dir });
        }
        log(`  ${id.padEnd(8)} pid ${targets.at(-1)!.child.pid}  ${targets.at(-1)!.endpoint}`);
      }

      /** One upload, checked on disk, then deleted (tus DELETE, then the directory wiped to be sure). */
      const uploadOnce = async (target: DiskTarget, bytes: number, chunkSize: number) => {
        const clientCpu = process.cpuUsage();
        try {
          const { result, cpuS } = await withCpuOf(target.child.pid, () =>
            tusUpload({ endpoint: target.endpoint, size: bytes, chunkSize, headers: target.headers, agent: target.agent, timeoutMs: timeoutFor(Math.min(bytes, chunkSize)) }));
          const stored = diskDataBytes(target.uploadDir);
          if (stored !== bytes) throw new Error(`${stored} bytes on disk after uploading ${bytes}`);
          const { user, system } = process.cpuUsage(clientCpu);
          await tusDelete(result.url, target);
          return { ...result, serverCpuS: cpuS, clientCpuS: (user + system) / 1e6 };
        } finally {
          emptyDir(target.uploadDir);
        }
      };

      log(`  warm-up: ${warmupMiB} MiB per target and mode`);
      for (const t of targets) for (const g of groups) await uploadOnce(t, warmupMiB * MiB, Math.min(g.chunkSize, warmupMiB * MiB));

      const perGiB = (seconds: number | undefined) => (seconds === undefined ? undefined : seconds / (sizeMiB / 1024));
      measured = await measureAlternately({
        rounds,
        groups,
        targets,
        log,
        async measure(target, group) {
          const r = await uploadOnce(target, size, group.chunkSize);
          return {
            values: { mibps: sizeMiB / (r.ms / 1000), ms: r.ms, serverCpuSPerGiB: perGiB(r.serverCpuS), clientCpuSPerGiB: perGiB(r.clientCpuS) },
            detail: { patches: r.patches },
          };
        },
        describe: ({ values: v }, target, group) =>
          `${group.id.padEnd(7)}  ${target.id.padEnd(8)}  ${fixed(v.mibps).padStart(5)} MiB/s  ${fixed(v.ms).padStart(6)} ms  ` +
          `server CPU ${fixed(v.serverCpuSPerGiB, 2)} s/GiB  client CPU ${fixed(v.clientCpuSPerGiB, 2)} s/GiB`,
        onError: (target) => `--- ${target.id} output (tail):\n${target.child.logs().slice(-4000)}`,
      });
    } finally {
      peakRssMiB = await stopServers(targets, log);
      tmp.remove();
    }

    const m = measured;
    const haul = targets.find((t) => t.id === 'haul');
    const baselines = targets.filter((t) => t !== haul);
    const ratios = groups.map((g) => ({ mode: g.id, haulOver: Object.fromEntries(baselines.map((b) => [b.id, haul && m.ratio(g, haul, b, 'mibps')])) }));
    writeReport({
      name: 'ingest-disk',
      text: [
        {
          title: `Disk ingest, MiB/s: median (min–max) over ${rounds} rounds; CPU seconds per GiB (median)`,
          table: {
            header: ['mode', 'target', 'MiB/s', 'server CPU s/GiB', 'client CPU s/GiB', 'peak RSS MiB'],
            rows: groups.flatMap((g) => targets.map((t) => [
              g.label, t.label, range(m.stat(g, t, 'mibps')), fixed(m.stat(g, t, 'serverCpuSPerGiB')?.median, 2),
              fixed(m.stat(g, t, 'clientCpuSPerGiB')?.median, 2), fixed(peakRssMiB[t.id]),
            ])),
          },
        },
        ...(haul ? [{
          title: 'Haul / baseline, ratio of median MiB/s (per-round range)',
          table: {
            header: ['mode', ...baselines.map((b) => `Haul / ${b.id}`)],
            rows: groups.map((g) => [g.label, ...baselines.map((b) => `${percent(m.ratio(g, haul, b, 'mibps'))} (${percentRange(m.ratio(g, haul, b, 'mibps'))})`)]),
          },
        }] : []),
      ],
      markdown: {
        table: {
          header: [`Upload of ${sizeLabel(sizeMiB)}`, ...targets.map((t) => t.label), ...(haul ? baselines.map((b) => `Haul / ${b.id === 'raw-pipe' ? 'raw' : 'bare'}`) : [])],
          rows: groups.map((g) => [g.label, ...targets.map((t) => range(m.stat(g, t, 'mibps'))), ...(haul ? baselines.map((b) => percent(m.ratio(g, haul, b, 'mibps'))) : [])]),
        },
        caption:
          `MiB/s, median (min–max) of ${rounds} rounds, targets measured alternately; ${os.cpus().length} CPUs, Node ${process.version}, ` +
          `client and server on 127.0.0.1, files on ${os.platform()} ${os.tmpdir()} (page cache, no fsync). \`npm run bench\`.`,
      },
      json: {
        config: { rounds, sizeMiB, chunkMiB, warmupMiB, modes, targets: wanted, haulLogLevel, profileDir },
        elapsedS: (Date.now() - started) / 1000,
        peakRssMiB,
        summary: m.summary(groups, targets, ['mibps', 'ms', 'serverCpuSPerGiB', 'clientCpuSPerGiB']),
        ratios,
        samples: m.samples,
      },
    }, log);
  },
};
