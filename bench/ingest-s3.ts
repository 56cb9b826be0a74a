import os from 'node:os';
import path from 'node:path';
import { withCpuOf } from './lib/children.js';
import { envChoices, envInt, envIntList } from './lib/env.js';
import { type Benchmark, measureAlternately, type Named } from './lib/harness.js';
import { startHaul } from './lib/haul.js';
import { PATCH_MODES, patchMode } from './lib/patch-modes.js';
import { benchTempDir, fixed, machineLine, percent, percentRange, range, sizeLabel, writeReport } from './lib/report.js';
import { cleanUpPrefix, createS3, dataObjectSizes, deletePrefix, uniquePrefix } from './lib/s3.js';
import { type ServerTarget, serverTarget, startBaseline, stopServers } from './lib/servers.js';
import { ensureLocalS3, haulS3Env, s3Description } from './lib/services.js';
import { tusDelete, tusUpload } from './lib/tus-client.js';

/**
 * S3 ingest: how fast a client pushes bytes through Haul into S3, against bare @tus/server +
 * @tus/s3-store (baselines/bare-tus-s3.ts) on the same S3, side by side. Each writes under its
 * own key prefix of one run prefix; each upload is checked in the bucket (one object of the right
 * size) and removed, and at the end everything under the run prefix is deleted (Swift segments
 * included). S3: the local Swift of scripts/local-s3.sh (started if needed, never stopped), or
 * any S3 when S3_BUCKET, S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY are set.
 *
 * env: BENCH_ROUNDS (3), BENCH_SIZES_MIB (50,200), BENCH_CHUNK_MIB (8), BENCH_WARMUP_MIB (16),
 *      BENCH_MODES (whole,chunked), BENCH_TARGETS (haul,bare-tus-s3), BENCH_TIMEOUT_MS (per request),
 *      BENCH_HAUL_LOG_LEVEL (warn), BENCH_KEEP_TMP=1 (keep the temp dir).
 */

const MiB = 2 ** 20;
const LABELS = { haul: 'Haul', 'bare-tus-s3': 'bare @tus/server + S3Store' } as const;
type TargetId = keyof typeof LABELS;

interface S3Target extends ServerTarget {
  prefix: string;
  /** S3Store.remove gives up on completed uploads (their multipart upload is gone): bare uploads are removed from the bucket directly. */
  deletes: boolean;
}

export const benchmark: Benchmark = {
  name: 'ingest-s3',
  description: 'tus upload throughput to S3: Haul vs bare @tus/server + S3Store, same S3',
  async run(log) {
    const rounds = envInt('BENCH_ROUNDS', 3);
    const sizesMiB = envIntList('BENCH_SIZES_MIB', [50, 200]);
    const chunkMiB = envInt('BENCH_CHUNK_MIB', 8);
    const warmupMiB = envInt('BENCH_WARMUP_MIB', 16);
    const modes = envChoices('BENCH_MODES', PATCH_MODES);
    const wanted = envChoices('BENCH_TARGETS', Object.keys(LABELS) as TargetId[]);
    const maxSize = Math.max(...sizesMiB) * MiB;
    // Generous: a PATCH at 2 MiB/s still finishes.
    const timeoutFor = (bytes: number) => envInt('BENCH_TIMEOUT_MS', Math.max(120_000, Math.ceil(bytes / (2 * MiB)) * 1000));
    const groups = sizesMiB.flatMap((sizeMiB) => modes.map((mode): Named & { sizeMiB: number; chunkSize: number } => {
      const { label, chunkSize } = patchMode(mode, sizeMiB, chunkMiB);
      return { id: `${sizeMiB}MiB-${mode}`, label: `${sizeLabel(sizeMiB)}, ${label}`, sizeMiB, chunkSize };
    }));

    const settings = ensureLocalS3(log);
    const s3 = createS3(settings);
    const bucket = settings.S3_BUCKET;
    const runPrefix = uniquePrefix('ingest-s3');
    // Both S3Store servers spool parts in os.tmpdir(); Swift keeps its data on disk too.
    const tmp = benchTempDir('ingest-s3', 2 * maxSize + 1024 * MiB);
    log(`ingest-s3: ${groups.map((g) => g.label).join('; ')}; ${rounds} rounds`);
    log(`  S3 ${settings.S3_ENDPOINT ?? 'AWS'} bucket ${bucket}, run prefix ${runPrefix}`);
    log(`  temp dir ${tmp.root} (${fixed(tmp.freeBytes / 2 ** 30, 1)} GiB free), ${machineLine()}`);

    const targets: S3Target[] = [];
    const started = Date.now();
    let peakRssMiB: Record<string, number | undefined> = {};
    let cleanup: { left: number; text: string } | undefined;
    let measured;
    try {
      for (const id of wanted) {
        const prefix = `${runPrefix}${id === 'haul' ? 'haul' : 'bare'}/`;
        if (id === 'haul') {
          const haul = await startHaul({
            dataDir: path.join(tmp.root, 'haul'), logLevel: process.env.BENCH_HAUL_LOG_LEVEL || 'warn', maxSize,
            env: haulS3Env(settings, prefix), logFile: path.join(tmp.root, 'haul.log'),
          });
          targets.push({ ...serverTarget(id, LABELS[id], haul.child, haul.endpoint, haul.headers), prefix, deletes: true });
        } else {
          const env = { ...haulS3Env(settings, prefix), PREFIX: prefix, PART_SIZE: String(8 * MiB) };
          const child = await startBaseline(id, { env, logDir: tmp.root });
          targets.push({ ...serverTarget(id, LABELS[id], child, `${child.url}/files/`), prefix, deletes: false });
        }
        log(`  ${id.padEnd(11)} pid ${targets.at(-1)!.child.pid}  ${targets.at(-1)!.endpoint}  keys under ${prefix}`);
      }

      /** One upload; the bucket must then hold exactly one object of `bytes` under the target's prefix; removed after. */
      const uploadOnce = async (target: S3Target, bytes: number, chunkSize: number) => {
        let url: string | undefined;
        try {
          const { result, cpuS } = await withCpuOf(target.child.pid, () =>
            tusUpload({ endpoint: target.endpoint, size: bytes, chunkSize, headers: target.headers, agent: target.agent, timeoutMs: timeoutFor(Math.min(bytes, chunkSize)) }));
          url = result.url;
          const stored = await dataObjectSizes(s3, bucket, target.prefix);
          if (stored.length !== 1 || stored[0] !== bytes) throw new Error(`expected one object of ${bytes} bytes under ${target.prefix}, found ${JSON.stringify(stored)}`);
          return { ...result, serverCpuS: cpuS };
        } finally {
          if (url && target.deletes) await tusDelete(url, target);
          await deletePrefix(s3, bucket, target.prefix);
        }
      };

      log(`  warm-up: ${warmupMiB} MiB per target and mode`);
      for (const t of targets) for (const mode of modes) await uploadOnce(t, warmupMiB * MiB, mode === 'whole' ? warmupMiB * MiB : Math.min(chunkMiB, warmupMiB) * MiB);

      measured = await measureAlternately({
        rounds,
        groups,
        targets,
        log,
        async measure(target, group) {
          const r = await uploadOnce(target, group.sizeMiB * MiB, group.chunkSize);
          const serverCpuSPerGiB = r.serverCpuS === undefined ? undefined : r.serverCpuS / (group.sizeMiB / 1024);
          return { values: { mibps: group.sizeMiB / (r.ms / 1000), ms: r.ms, serverCpuSPerGiB }, detail: { patches: r.patches } };
        },
        describe: ({ values: v }, target, group) =>
          `${group.label.padEnd(24)}  ${target.id.padEnd(11)}  ${fixed(v.mibps, 1).padStart(6)} MiB/s  ${fixed(v.ms).padStart(6)} ms  server CPU ${fixed(v.serverCpuSPerGiB, 2)} s/GiB`,
        onError: (target) => `--- ${target.id} output (tail):\n${target.child.logs().slice(-4000)}`,
      });
    } finally {
      peakRssMiB = await stopServers(targets, log);
      cleanup = await cleanUpPrefix(s3, settings, runPrefix);
      log(`  ${cleanup.text}`);
      tmp.remove();
    }

    const m = measured;
    const [haul, bare] = [targets.find((t) => t.id === 'haul'), targets.find((t) => t.id === 'bare-tus-s3')];
    const ratio = (g: Named) => (haul && bare ? m.ratio(g, haul, bare, 'mibps') : undefined);
    writeReport({
      name: 'ingest-s3',
      text: [{
        title: `S3 ingest, MiB/s: median (min–max) over ${rounds} rounds; server CPU seconds per GiB (median)`,
        table: {
          header: ['upload', 'target', 'MiB/s', 'server CPU s/GiB', 'peak RSS MiB', 'Haul / bare (per-round range)'],
          rows: groups.flatMap((g) => targets.map((t) => [
            g.label, t.label, range(m.stat(g, t, 'mibps'), 1), fixed(m.stat(g, t, 'serverCpuSPerGiB')?.median, 2), fixed(peakRssMiB[t.id]),
            t === haul ? `${percent(ratio(g))} (${percentRange(ratio(g))})` : '',
          ])),
        },
      }],
      markdown: {
        table: {
          header: ['Upload to S3', ...targets.map((t) => t.label), ...(haul && bare ? ['Haul / bare'] : [])],
          rows: groups.map((g) => [
            g.label, ...targets.map((t) => range(m.stat(g, t, 'mibps'), 1)), ...(haul && bare ? [`${percent(ratio(g))} (${percentRange(ratio(g))})`] : []),
          ]),
        },
        caption:
          `MiB/s, median (min–max) of ${rounds} rounds, targets measured alternately; ratio of medians (per-round range). ` +
          `S3: ${s3Description(settings)}, 8 MiB parts; ${os.cpus().length} CPUs, Node ${process.version}, client and servers on 127.0.0.1. ` +
          '`npm run bench -- ingest-s3`.',
      },
      json: {
        config: { rounds, sizesMiB, chunkMiB, warmupMiB, modes, targets: wanted, s3Endpoint: settings.S3_ENDPOINT, bucket, runPrefix, partSizeMiB: 8 },
        elapsedS: (Date.now() - started) / 1000,
        peakRssMiB,
        s3LeftAfterCleanup: cleanup?.left,
        summary: m.summary(groups, targets, ['mibps', 'ms', 'serverCpuSPerGiB']),
        ratios: groups.map((g) => ({ group: g.id, haulOverBare: ratio(g) })),
        samples: m.samples,
      },
    }, log);
  },
};
