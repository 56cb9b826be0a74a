import os from 'node:os';
import path from 'node:path';
import { withCpuOf } from './lib/children.js';
import { envChoices, envInt } from './lib/env.js';
import { type Benchmark, measureAlternately, type Named } from './lib/harness.js';
import { bodyDigest } from './lib/http-client.js';
import { diskDataBytes, emptyDir, startHaul } from './lib/haul.js';
import { PATCH_MODES, patchMode } from './lib/patch-modes.js';
import { benchTempDir, fixed, machineLine, percent, percentRange, range, sizeLabel, writeReport } from './lib/report.js';
import { serverTarget, stopServers } from './lib/servers.js';
import { tusDelete, tusUpload } from './lib/tus-client.js';

/**
 * What the tus checksum extension costs on ingest: the same Haul (disk storage) taking the same
 * upload with `Upload-Checksum: sha256 …` on every PATCH (the SDK's default) and without, the two
 * alternating in one run. With a checksum the server hashes every byte as it streams and writes
 * the body all-or-nothing (in place, with a marker file, cut off again on a mismatch), so the
 * difference is the digest and the marker. Goal: at most 10 % slower. The client's digests are
 * computed before timing (the body is a repeated random block), so only the server's cost counts.
 *
 * env: BENCH_ROUNDS (5), BENCH_SIZE_MIB (1024), BENCH_CHUNK_MIB (8), BENCH_WARMUP_MIB (256),
 *      BENCH_MODES (whole,chunked), BENCH_HAUL_LOG_LEVEL (warn).
 */

const MiB = 2 ** 20;

interface Variant extends Named {
  checksum: boolean;
}

const VARIANTS: Variant[] = [
  { id: 'sha256', label: 'sha256 checksums', checksum: true },
  { id: 'plain', label: 'no checksum', checksum: false },
];

export const benchmark: Benchmark = {
  name: 'ingest-checksum',
  description: 'tus upload throughput to disk with sha256 Upload-Checksum on every PATCH vs without',
  async run(log) {
    const rounds = envInt('BENCH_ROUNDS', 5);
    const sizeMiB = envInt('BENCH_SIZE_MIB', 1024);
    const chunkMiB = envInt('BENCH_CHUNK_MIB', 8);
    const warmupMiB = envInt('BENCH_WARMUP_MIB', 256);
    const modes = envChoices('BENCH_MODES', PATCH_MODES);
    const size = sizeMiB * MiB;
    const groups = modes.map((mode) => patchMode(mode, sizeMiB, chunkMiB));

    const tmp = benchTempDir('ingest-checksum', size * 2 + 512 * MiB);
    log(`ingest-checksum: ${sizeLabel(sizeMiB)} per upload, ${groups.map((g) => g.label).join(' and ')}, ${rounds} rounds`);
    log(`  temp dir ${tmp.root}, ${machineLine()}`);
    const loadAtStart = os.loadavg();
    // Digests of every PATCH length the run sends, before anything is timed.
    for (const g of groups) for (const bytes of [size, warmupMiB * MiB]) {
      const chunk = Math.min(g.chunkSize, bytes);
      bodyDigest('sha256', chunk);
      if (bytes % chunk) bodyDigest('sha256', bytes % chunk);
    }

    const dataDir = path.join(tmp.root, 'haul');
    const haul = await startHaul({ dataDir, logLevel: process.env.BENCH_HAUL_LOG_LEVEL || 'warn', maxSize: size, logFile: path.join(tmp.root, 'haul.log') });
    const server = serverTarget('haul', 'Haul', haul.child, haul.endpoint, haul.headers);
    const uploadDir = path.join(dataDir, 'files');
    const targets = VARIANTS.map((v) => ({ ...v, server }));
    const started = Date.now();
    let measured;
    try {
      const uploadOnce = async (variant: Variant, bytes: number, chunkSize: number) => {
        try {
          const { result, cpuS } = await withCpuOf(haul.child.pid, () =>
            tusUpload({
              endpoint: server.endpoint, size: bytes, chunkSize, headers: server.headers, agent: server.agent, timeoutMs: 600_000,
              patchHeaders: variant.checksum ? (_offset, length) => ({ 'Upload-Checksum': `sha256 ${bodyDigest('sha256', length)}` }) : undefined,
            }));
          const stored = diskDataBytes(uploadDir);
          if (stored !== bytes) throw new Error(`${stored} bytes on disk after uploading ${bytes}`);
          await tusDelete(result.url, server);
          return { ...result, serverCpuS: cpuS };
        } finally {
          emptyDir(uploadDir);
        }
      };

      log(`  warm-up: ${warmupMiB} MiB per variant and mode`);
      for (const v of VARIANTS) for (const g of groups) await uploadOnce(v, warmupMiB * MiB, Math.min(g.chunkSize, warmupMiB * MiB));

      measured = await measureAlternately({
        rounds, groups, targets, log,
        async measure(variant, group) {
          const r = await uploadOnce(variant, size, group.chunkSize);
          return { values: { mibps: sizeMiB / (r.ms / 1000), ms: r.ms, serverCpuSPerGiB: r.serverCpuS === undefined ? undefined : r.serverCpuS / (sizeMiB / 1024) }, detail: { patches: r.patches } };
        },
        describe: ({ values: v }, variant, group) =>
          `${group.id.padEnd(7)}  ${variant.id.padEnd(6)}  ${fixed(v.mibps).padStart(5)} MiB/s  ${fixed(v.ms).padStart(6)} ms  server CPU ${fixed(v.serverCpuSPerGiB, 2)} s/GiB`,
        onError: () => `--- haul output (tail):\n${haul.child.logs().slice(-4000)}`,
      });
    } finally {
      await stopServers([server], log);
      tmp.remove();
    }

    const m = measured;
    const [withSum, without] = [targets[0]!, targets[1]!];
    const loadAtEnd = os.loadavg();
    const load = `load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} at start, ${loadAtEnd.map((l) => l.toFixed(2)).join(' ')} at end, ${os.cpus().length} CPUs`;
    log(`  ${load}`);
    writeReport({
      name: 'ingest-checksum',
      text: [
        {
          title: `Disk ingest with and without Upload-Checksum, MiB/s: median (min–max) over ${rounds} rounds; ${load}`,
          table: {
            header: ['mode', 'variant', 'MiB/s', 'server CPU s/GiB'],
            rows: groups.flatMap((g) => targets.map((t) => [g.label, t.label, range(m.stat(g, t, 'mibps')), fixed(m.stat(g, t, 'serverCpuSPerGiB')?.median, 2)])),
          },
        },
        {
          title: 'sha256 / no checksum, ratio of median MiB/s (per-round range); goal >= 90 %',
          table: { header: ['mode', 'ratio'], rows: groups.map((g) => [g.label, `${percent(m.ratio(g, withSum, without, 'mibps'))} (${percentRange(m.ratio(g, withSum, without, 'mibps'))})`]) },
        },
      ],
      markdown: {
        table: {
          header: [`Upload of ${sizeLabel(sizeMiB)}`, withSum.label, without.label, 'ratio'],
          rows: groups.map((g) => [g.label, range(m.stat(g, withSum, 'mibps')), range(m.stat(g, without, 'mibps')), percent(m.ratio(g, withSum, without, 'mibps'))]),
        },
        caption: `MiB/s, median (min–max) of ${rounds} rounds, variants alternating against one Haul on disk; ${load}; Node ${process.version}. \`npm run bench -- ingest-checksum\`.`,
      },
      json: {
        config: { rounds, sizeMiB, chunkMiB, warmupMiB, modes },
        loadavgAtStart: loadAtStart,
        elapsedS: (Date.now() - started) / 1000,
        summary: m.summary(groups, targets, ['mibps', 'ms', 'serverCpuSPerGiB']),
        ratios: groups.map((g) => ({ mode: g.id, checksumOverPlain: m.ratio(g, withSum, without, 'mibps') })),
        samples: m.samples,
      },
    }, log);
  },
};
