import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runNode } from './lib/children.js';
import { envChoices, envInt, envIntList } from './lib/env.js';
import { freshenHead, sha256File, writeJpegVariant, writeNoiseJpeg, writeRandomFile } from './lib/files.js';
import { type Benchmark, measureAlternately, type Named, summarize } from './lib/harness.js';
import { assertBuilt, baseEnv } from './lib/haul.js';
import { BENCH_DIST } from './lib/paths.js';
import type { ProcessingReport } from './lib/processing-report.js';
import { benchTempDir, fixed, machineLine, range, sizeLabel, times, writeReport } from './lib/report.js';
import { ensureLocalClamd } from './lib/services.js';

/**
 * The processing pass: Haul's one-pass inspectFile (SHA-256 + file-type + clamd INSTREAM + sharp
 * thumbnails, streamed, with backpressure) against a naive baseline that reads the whole file
 * into memory and runs the same stages one after another (baselines/naive-processing.ts), on a
 * 24 MP JPEG and on a 1 GiB random binary.
 *
 * Every measurement is a fresh child process (lib/haul-inspect.ts or the baseline), so peak RSS
 * (process.resourceUsage().maxRSS) is that run's own; wall time is measured inside the child from
 * the start of the pass to its result, with clamd already connected. Both sides use the same
 * clamd (scripts/local-clamd.sh, started if needed; or CLAMD_HOST/CLAMD_PORT). clamd caches clean
 * verdicts by hash, so every measurement gets bytes clamd has not seen: a fresh JPEG variant (a
 * random APP15 segment after SOI), or the binary with its first 64 KiB rewritten. Files are read
 * from the page cache on both sides. The random binary is not a recognised type: it is hashed and
 * scanned in full, no thumbnails.
 *
 * env: BENCH_ROUNDS (3), BENCH_FILES (jpeg,binary), BENCH_TARGETS (haul,naive),
 *      BENCH_BINARY_MIB (1024), BENCH_JPEG_WIDTH (6000), BENCH_JPEG_HEIGHT (4000),
 *      BENCH_THUMBNAIL_SIZES (160,480,1280), BENCH_KEEP_TMP=1.
 */

const MiB = 2 ** 20;
const TARGETS = {
  haul: { label: 'Haul', script: 'lib/haul-inspect.js' },
  naive: { label: 'naive', script: 'baselines/naive-processing.js' },
} as const;
type TargetId = keyof typeof TARGETS;
type Kind = 'jpeg' | 'binary';

/** Runs one child over `file`; returns its report. */
async function inspect(target: TargetId, file: string, env: Record<string, string>): Promise<ProcessingReport> {
  const { code, signal, stdout, stderr } = await runNode({ args: [path.join(BENCH_DIST, TARGETS[target].script), file], env });
  const line = stdout.split('\n').filter((l) => l.startsWith('{')).at(-1);
  if (code !== 0 || !line) throw new Error(`${target} exited with ${signal ?? code}:\n${stderr.slice(-3000)}${stdout.slice(-1000)}`);
  return JSON.parse(line) as ProcessingReport;
}

/** What each side must have found: the file's size and hash, clean, and thumbnails for the JPEG only. */
function check(r: ProcessingReport, kind: Kind, { size, sha256, thumbnailSizes }: { size: number; sha256: string | undefined; thumbnailSizes: number[] }) {
  const problems: string[] = [];
  if (r.size !== size) problems.push(`size ${r.size}, expected ${size}`);
  if (sha256 && r.sha256 !== sha256) problems.push(`sha256 ${r.sha256}, expected ${sha256}`);
  if (r.scan !== 'clean') problems.push(`scan ${r.scan}`);
  const thumbnailsOk = Array.isArray(r.thumbnails) && r.thumbnails.map((t) => t.size).join() === thumbnailSizes.join() && r.thumbnails.every((t) => t.bytes > 0);
  if (kind === 'jpeg' && r.detectedType !== 'image/jpeg') problems.push(`type ${r.detectedType}`);
  if (kind === 'jpeg' && !thumbnailsOk) problems.push(`thumbnails ${JSON.stringify(r.thumbnails)}`);
  if (kind === 'binary' && r.detectedType !== undefined) problems.push(`type ${r.detectedType}, expected none`);
  if (kind === 'binary' && r.thumbnails !== undefined) problems.push(`thumbnails ${JSON.stringify(r.thumbnails)}`);
  if (problems.length) throw new Error(problems.join('; '));
}

export const benchmark: Benchmark = {
  name: 'processing',
  description: "processing pass: Haul's streamed inspectFile vs naive read-all-then-stages, 24 MP JPEG and 1 GiB binary",
  async run(log) {
    assertBuilt();
    const rounds = envInt('BENCH_ROUNDS', 3);
    const kinds = envChoices('BENCH_FILES', ['jpeg', 'binary'] as const);
    const wanted = envChoices('BENCH_TARGETS', Object.keys(TARGETS) as TargetId[]);
    const binaryMiB = envInt('BENCH_BINARY_MIB', 1024);
    const jpeg = { width: envInt('BENCH_JPEG_WIDTH', 6000), height: envInt('BENCH_JPEG_HEIGHT', 4000) };
    const thumbnailSizes = envIntList('BENCH_THUMBNAIL_SIZES', [160, 480, 1280]);
    const clamd = ensureLocalClamd(log);
    const childEnv = (filename: string) => ({
      ...baseEnv(), FILENAME: filename, CLAMD_HOST: clamd.host, CLAMD_PORT: String(clamd.port), CLAMD_TIMEOUT_MS: '600000',
      THUMBNAIL_SIZES: thumbnailSizes.join(','), MAX_IMAGE_PIXELS: '100000000',
    });
    const groups = kinds.map((kind): Named & { kind: Kind; filename: string } =>
      kind === 'jpeg'
        ? { id: kind, kind, label: `${jpeg.width}×${jpeg.height} JPEG`, filename: 'photo.jpg' }
        : { id: kind, kind, label: `${sizeLabel(binaryMiB)} random binary`, filename: 'data.bin' });
    const targets = wanted.map((id): Named & { id: TargetId } => ({ id, label: TARGETS[id].label }));

    // The binary, plus clamd's temp copy of the stream it is scanning.
    const tmp = benchTempDir('processing', (kinds.includes('binary') ? 2 * binaryMiB * MiB : 0) + 512 * MiB);
    log(`processing: ${groups.map((g) => g.label).join(', ')}; ${wanted.join(' vs ')}; ${rounds} rounds, a fresh process per measurement`);
    log(`  clamd ${clamd.host}:${clamd.port}; temp dir ${tmp.root} (${fixed(tmp.freeBytes / 2 ** 30, 1)} GiB free); ${machineLine()}`);

    const started = Date.now();
    const baseJpeg = path.join(tmp.root, 'base.jpg');
    const binary = path.join(tmp.root, 'data.bin');
    let jpegBytes = 0;
    let measured;
    try {
      if (kinds.includes('jpeg')) {
        const t0 = performance.now();
        await writeNoiseJpeg(baseJpeg, jpeg);
        jpegBytes = fs.statSync(baseJpeg).size + 4 + 4096; // each variant adds a 4 KiB APP15 segment
        log(`  JPEG ${groups[0]!.label}: ${fixed(fs.statSync(baseJpeg).size / MiB, 1)} MiB (generated in ${fixed((performance.now() - t0) / 1000, 1)} s)`);
      }
      if (kinds.includes('binary')) {
        await writeRandomFile(binary, binaryMiB * MiB);
        log(`  binary: ${sizeLabel(binaryMiB)} of random bytes`);
      }
      /** A file clamd has never seen: a new JPEG variant (removed after), or the binary with a new head. */
      let variant = 0;
      const fresh = (kind: Kind) => {
        if (kind === 'binary') {
          freshenHead(binary);
          return { file: binary, dispose: () => {} };
        }
        const file = writeJpegVariant(baseJpeg, path.join(tmp.root, `photo-${++variant}.jpg`));
        return { file, dispose: () => fs.rmSync(file, { force: true }) };
      };

      if (kinds.includes('jpeg')) {
        log('  warm-up: one JPEG pass per target');
        for (const target of wanted) {
          const input = fresh('jpeg');
          await inspect(target, input.file, childEnv('photo.jpg')).finally(input.dispose);
        }
      }

      measured = await measureAlternately({
        rounds,
        groups,
        targets,
        log,
        async measure(target, group, round) {
          const input = fresh(group.kind);
          try {
            // The JPEG is cheap to hash here; the binary only in round 1 (a second of CPU each time).
            const sha256 = group.kind === 'jpeg' || round === 1 ? await sha256File(input.file) : undefined;
            const r = await inspect(target.id, input.file, childEnv(group.filename));
            check(r, group.kind, { size: group.kind === 'jpeg' ? jpegBytes : binaryMiB * MiB, sha256, thumbnailSizes });
            return {
              values: { seconds: r.ms / 1000, peakRssMiB: r.peakRssMiB, rssBeforeMiB: r.rssBeforeMiB, cpuS: r.cpuS },
              detail: { stages: r.stages },
            };
          } finally {
            input.dispose();
          }
        },
        describe: ({ values: v, detail }, target, group) => {
          const stages = Object.entries((detail?.stages ?? {}) as Record<string, number | undefined>)
            .filter(([, ms]) => ms !== undefined).map(([stage, ms]) => `${stage.replace(/Ms$/, '')} ${fixed(ms)}`).join(', ');
          return `${group.kind.padEnd(6)}  ${target.id.padEnd(5)}  ${fixed(v.seconds, 2).padStart(6)} s  peak RSS ${fixed(v.peakRssMiB).padStart(5)} MiB  CPU ${fixed(v.cpuS, 2)} s  (${stages} ms)`;
        },
      });
    } finally {
      tmp.remove();
    }

    const m = measured;
    const [haul, naive] = [targets.find((t) => t.id === 'haul'), targets.find((t) => t.id === 'naive')];
    const ratio = (g: Named, metric: 'seconds' | 'peakRssMiB') => (haul && naive ? m.ratio(g, haul, naive, metric) : undefined);
    const both = Boolean(haul && naive);
    const loadedMiB = summarize(groups.flatMap((g) => targets.map((t) => m.stat(g, t, 'rssBeforeMiB')?.median)))?.median;
    writeReport({
      name: 'processing',
      text: [{
        title: `Processing pass: wall time and peak RSS, median (min–max) over ${rounds} rounds, a fresh process each`,
        table: {
          header: ['file', 'target', 'time, s', 'peak RSS, MiB', 'RSS before pass', 'CPU s', 'time Haul / naive', 'RSS Haul / naive'],
          rows: groups.flatMap((g) => targets.map((t) => [
            g.label, t.id, range(m.stat(g, t, 'seconds'), 2), range(m.stat(g, t, 'peakRssMiB')), fixed(m.stat(g, t, 'rssBeforeMiB')?.median),
            fixed(m.stat(g, t, 'cpuS')?.median, 2), t === haul ? times(ratio(g, 'seconds')) : '', t === haul ? times(ratio(g, 'peakRssMiB')) : '',
          ])),
        },
      }],
      markdown: {
        table: {
          header: ['File', ...targets.map((t) => `${t.label}: time, s`), ...(both ? ['Time Haul / naive'] : []),
            ...targets.map((t) => `${t.label}: peak RSS, MiB`), ...(both ? ['RSS Haul / naive'] : [])],
          rows: groups.map((g) => [
            g.label, ...targets.map((t) => range(m.stat(g, t, 'seconds'), 2)), ...(both ? [times(ratio(g, 'seconds'))] : []),
            ...targets.map((t) => range(m.stat(g, t, 'peakRssMiB'))), ...(both ? [times(ratio(g, 'peakRssMiB'))] : []),
          ]),
        },
        caption:
          `Median (min–max) of ${rounds} rounds, targets alternating, each run a fresh Node process (peak RSS = its maxRSS, ` +
          `including ~${fixed(loadedMiB)} MiB of loaded modules). Haul: \`inspectFile\` streaming the file once to ` +
          'SHA-256, file-type, clamd INSTREAM and sharp; naive: `readFile`, then SHA-256, `fileTypeFromBuffer`, clamscan `scanStream`, ' +
          `sharp per size. Thumbnails ${thumbnailSizes.join('/')} px WebP for the JPEG; the random binary is hashed and scanned only. ` +
          'Same local clamd (test signatures only: scanning is cheaper than with the full ClamAV database), fresh bytes for clamd every run; ' +
          `files in page cache; ${os.cpus().length} CPUs, Node ${process.version}. \`npm run bench -- processing\`.`,
      },
      json: {
        config: { rounds, kinds, targets: wanted, binaryMiB, jpeg: { ...jpeg, bytes: jpegBytes || undefined }, thumbnailSizes, clamd },
        elapsedS: (Date.now() - started) / 1000,
        summary: m.summary(groups, targets, ['seconds', 'peakRssMiB', 'rssBeforeMiB', 'cpuS']),
        ratios: groups.map((g) => ({ file: g.id, timeHaulOverNaive: ratio(g, 'seconds'), peakRssHaulOverNaive: ratio(g, 'peakRssMiB') })),
        samples: m.samples,
      },
    }, log);
  },
};
