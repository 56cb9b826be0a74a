// Processing-pipeline benchmark: Haul's one-pass inspectFile (SHA-256 + file-type + clamd
// INSTREAM + sharp thumbnails, streamed, with backpressure) against a naive baseline that reads
// the whole file into memory and runs the same stages one after another
// (baselines/naive-processing.mjs), on a 24 MP JPEG and on a 1 GiB random binary.
//
// Every measurement is a fresh child process (bench/lib/haul-inspect.mjs or the baseline), so
// peak RSS (process.resourceUsage().maxRSS) is that run's own; wall time is measured inside the
// child from the start of the pass to its result, with clamd already connected. Both sides use
// the same clamd (scripts/local-clamd.sh, started if needed; or CLAMD_HOST/CLAMD_PORT). clamd
// caches clean verdicts by hash, so every measurement gets bytes clamd has not seen: a fresh
// JPEG variant (a random APP15 segment after SOI), or the binary with its first 64 KiB
// rewritten. Files are read from the page cache on both sides. Targets alternate every round.
// The random binary is not a recognised type (detectedType undefined): it is hashed and
// scanned in full, no thumbnails.
//
// env: BENCH_ROUNDS (3), BENCH_FILES (jpeg,binary), BENCH_TARGETS (haul,naive),
//      BENCH_BINARY_MIB (1024), BENCH_JPEG_WIDTH (6000), BENCH_JPEG_HEIGHT (4000),
//      BENCH_THUMBNAIL_SIZES (160,480,1280), BENCH_KEEP_TMP=1.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNode } from './lib/children.mjs';
import { envInt, envIntList, envList } from './lib/env.mjs';
import { freshenHead, writeJpegVariant, writeNoiseJpeg, writeRandomFile } from './lib/files.mjs';
import { assertBuilt, baseEnv } from './lib/haul.mjs';
import { ensureLocalClamd } from './lib/local-services.mjs';
import { benchTempDir, writeResults } from './lib/report.mjs';
import { fixed, markdownTable, median, pairedRatio, rotate, sizeLabel, summarize, textTable } from './lib/stats.mjs';

export const name = 'processing';
export const description = "processing pass: Haul's streamed inspectFile vs naive read-all-then-stages, 24 MP JPEG and 1 GiB binary";

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const SCRIPTS = {
  haul: path.join(BENCH_DIR, 'lib', 'haul-inspect.mjs'),
  naive: path.join(BENCH_DIR, 'baselines', 'naive-processing.mjs'),
};
const TARGET_LABELS = { haul: 'Haul inspectFile (one pass)', naive: 'naive (read all, then stages)' };

async function sha256File(file) {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk);
  return hash.digest('hex');
}

/** Runs one child over `file`; returns its JSON report plus the process's total wall time. */
async function measureOnce(target, { file, filename, clamd, thumbnailSizes }) {
  const started = performance.now();
  const { code, signal, stdout, stderr } = await runNode({
    args: [SCRIPTS[target], file],
    env: {
      ...baseEnv(),
      FILENAME: filename,
      CLAMD_HOST: clamd.host,
      CLAMD_PORT: String(clamd.port),
      CLAMD_TIMEOUT_MS: '600000',
      THUMBNAIL_SIZES: thumbnailSizes.join(','),
      MAX_IMAGE_PIXELS: '100000000',
    },
  });
  const processMs = performance.now() - started;
  const line = stdout.split('\n').filter((l) => l.startsWith('{')).at(-1);
  if (code !== 0 || !line) throw new Error(`${target} exited with ${signal ?? code}:\n${stderr.slice(-3000)}${stdout.slice(-1000)}`);
  return { ...JSON.parse(line), processMs, warnings: stderr.trim() ? stderr.trim().split('\n').filter((l) => /Warning/.test(l)).slice(0, 3) : [] };
}

function check(target, kind, r, { size, sha256, thumbnailSizes }) {
  const problems = [];
  if (r.size !== size) problems.push(`size ${r.size}, expected ${size}`);
  if (sha256 && r.sha256 !== sha256) problems.push(`sha256 ${r.sha256}, expected ${sha256}`);
  if (r.scan !== 'clean') problems.push(`scan ${r.scan}`);
  if (kind === 'jpeg') {
    if (r.detectedType !== 'image/jpeg') problems.push(`type ${r.detectedType}`);
    if (!Array.isArray(r.thumbnails) || r.thumbnails.map((t) => t.size).join() !== thumbnailSizes.join() || r.thumbnails.some((t) => !(t.bytes > 0))) {
      problems.push(`thumbnails ${JSON.stringify(r.thumbnails)}`);
    }
  } else {
    if (r.detectedType !== undefined) problems.push(`type ${r.detectedType}, expected none`);
    if (r.thumbnails !== undefined) problems.push(`thumbnails ${JSON.stringify(r.thumbnails)}`);
  }
  if (problems.length) throw new Error(`${target} on ${kind}: ${problems.join('; ')}`);
}

export async function run({ log = console.log } = {}) {
  assertBuilt();
  const rounds = envInt('BENCH_ROUNDS', 3);
  const kinds = envList('BENCH_FILES', ['jpeg', 'binary']);
  const wanted = envList('BENCH_TARGETS', ['haul', 'naive']);
  const binaryMiB = envInt('BENCH_BINARY_MIB', 1024);
  const jpegWidth = envInt('BENCH_JPEG_WIDTH', 6000);
  const jpegHeight = envInt('BENCH_JPEG_HEIGHT', 4000);
  const thumbnailSizes = envIntList('BENCH_THUMBNAIL_SIZES', [160, 480, 1280]);
  for (const k of kinds) if (!['jpeg', 'binary'].includes(k)) throw new Error(`unknown file kind ${k} (jpeg, binary)`);
  for (const t of wanted) if (!SCRIPTS[t]) throw new Error(`unknown target ${t} (haul, naive)`);

  const clamd = ensureLocalClamd(log);
  // The binary, plus clamd's temp copy of the stream it is scanning.
  const tmp = benchTempDir(name, (kinds.includes('binary') ? 2 * binaryMiB * MiB : 0) + 512 * MiB);
  const labels = { jpeg: `${jpegWidth}×${jpegHeight} JPEG`, binary: `${sizeLabel(binaryMiB)} random binary` };

  log(`processing: ${kinds.map((k) => labels[k]).join(', ')}; ${wanted.join(' vs ')}; ${rounds} rounds, a fresh process per measurement`);
  log(`  clamd ${clamd.host}:${clamd.port}; temp dir ${tmp.root} (${fixed(tmp.freeBytes / 1024 / MiB, 1)} GiB free); node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  const samples = [];
  const started = Date.now();
  const files = {};
  try {
    if (kinds.includes('jpeg')) {
      const t0 = performance.now();
      files.jpeg = { base: await writeNoiseJpeg(path.join(tmp.root, 'base.jpg'), { width: jpegWidth, height: jpegHeight }), filename: 'photo.jpg' };
      files.jpeg.size = fs.statSync(files.jpeg.base).size + 4 + 4096; // each variant adds a 4 KiB APP15 segment
      log(`  JPEG ${jpegWidth}×${jpegHeight}: ${fixed(fs.statSync(files.jpeg.base).size / MiB, 1)} MiB (generated in ${fixed((performance.now() - t0) / 1000, 1)} s)`);
    }
    if (kinds.includes('binary')) {
      const file = await writeRandomFile(path.join(tmp.root, 'data.bin'), binaryMiB * MiB);
      files.binary = { file, filename: 'data.bin', size: binaryMiB * MiB };
      log(`  binary: ${sizeLabel(binaryMiB)} of random bytes`);
    }

    /** A file clamd has never seen: a new JPEG variant, or the binary with a new head. */
    let variant = 0;
    const prepare = (kind) => {
      if (kind === 'jpeg') {
        const file = writeJpegVariant(files.jpeg.base, path.join(tmp.root, `photo-${++variant}.jpg`));
        return { file, dispose: () => fs.rmSync(file, { force: true }) };
      }
      freshenHead(files.binary.file);
      return { file: files.binary.file, dispose: () => {} };
    };

    log('  warm-up: one JPEG pass per target');
    if (files.jpeg) {
      for (const target of wanted) {
        const input = prepare('jpeg');
        try {
          await measureOnce(target, { file: input.file, filename: 'photo.jpg', clamd, thumbnailSizes });
        } finally {
          input.dispose();
        }
      }
    }

    for (let round = 1; round <= rounds; round++) {
      for (const kind of kinds) {
        for (const target of rotate(wanted, round - 1)) {
          const input = prepare(kind);
          try {
            // The JPEG is cheap to hash here; the binary only in round 1 (a second of CPU each time).
            const sha256 = kind === 'jpeg' || round === 1 ? await sha256File(input.file) : undefined;
            const r = await measureOnce(target, { file: input.file, filename: files[kind].filename, clamd, thumbnailSizes });
            check(target, kind, r, { size: files[kind].size, sha256, thumbnailSizes });
            samples.push({ round, kind, target, ms: r.ms, processMs: r.processMs, peakRssMiB: r.peakRssMiB, rssBeforeMiB: r.rssBeforeMiB, cpuS: r.cpuS, stages: r.stages, warnings: r.warnings });
            const stageText = r.stages
              ? Object.entries(r.stages).filter(([, v]) => v !== undefined).map(([k, v]) => `${k.replace(/Ms$/, '')} ${fixed(v)}`).join(', ')
              : '';
            log(
              `  round ${round}/${rounds}  ${kind.padEnd(6)}  ${target.padEnd(5)}  ${fixed(r.ms / 1000, 2).padStart(6)} s  ` +
                `peak RSS ${fixed(r.peakRssMiB).padStart(5)} MiB  CPU ${fixed(r.cpuS, 2)} s  (${stageText} ms)`,
            );
          } finally {
            input.dispose();
          }
        }
      }
    }
  } finally {
    tmp.remove();
  }
  const elapsedS = (Date.now() - started) / 1000;

  // ---- summary
  const summary = [];
  const ratios = [];
  for (const kind of kinds) {
    for (const target of wanted) {
      const mine = samples.filter((s) => s.kind === kind && s.target === target);
      const stageNames = [...new Set(mine.flatMap((s) => Object.keys(s.stages ?? {})))];
      summary.push({
        kind,
        target,
        seconds: summarize(mine.map((s) => s.ms / 1000)),
        peakRssMiB: summarize(mine.map((s) => s.peakRssMiB)),
        rssBeforeMiB: median(mine.map((s) => s.rssBeforeMiB)),
        cpuS: median(mine.map((s) => s.cpuS)),
        stagesMs: Object.fromEntries(stageNames.map((n) => [n, median(mine.map((s) => s.stages?.[n]).filter((v) => v !== undefined))])),
      });
    }
    const pairs = (field) => {
      const list = [];
      for (let round = 1; round <= rounds; round++) {
        const pick = (target) => samples.find((s) => s.kind === kind && s.target === target && s.round === round)?.[field];
        list.push([pick('haul'), pick('naive')]);
      }
      return pairedRatio(list);
    };
    ratios.push({ kind, timeHaulOverNaive: pairs('ms'), peakRssHaulOverNaive: pairs('peakRssMiB') });
  }
  const get = (kind, target) => summary.find((s) => s.kind === kind && s.target === target);
  const ratioOf = (kind) => ratios.find((r) => r.kind === kind);
  const range = (s, digits) => (s ? `${fixed(s.median, digits)} (${fixed(s.min, digits)}–${fixed(s.max, digits)})` : '–');
  const times = (r) => (r ? `${fixed(r.ofMedians, 2)}× (${fixed(r.pairedMin, 2)}–${fixed(r.pairedMax, 2)})` : '–');

  log('');
  log(`Processing pass: wall time s and peak RSS MiB, median (min–max) over ${rounds} rounds, a fresh process each`);
  log(
    textTable(
      ['file', 'target', 'time s', 'min', 'max', 'peak RSS MiB', 'min', 'max', 'RSS before pass', 'CPU s', 'stages (median ms)'],
      summary.map((s) => [
        labels[s.kind],
        s.target,
        fixed(s.seconds.median, 2),
        fixed(s.seconds.min, 2),
        fixed(s.seconds.max, 2),
        fixed(s.peakRssMiB.median),
        fixed(s.peakRssMiB.min),
        fixed(s.peakRssMiB.max),
        fixed(s.rssBeforeMiB),
        fixed(s.cpuS, 2),
        Object.entries(s.stagesMs).map(([k, v]) => `${k.replace(/Ms$/, '')} ${fixed(v)}`).join(', '),
      ]),
    ),
  );
  log('');
  log(textTable(['file', 'time Haul / naive', 'peak RSS Haul / naive'], ratios.map((r) => [labels[r.kind], times(r.timeHaulOverNaive), times(r.peakRssHaulOverNaive)])));

  const both = wanted.includes('haul') && wanted.includes('naive');
  const markdown = [
    markdownTable(
      [
        'File',
        ...wanted.map((t) => `${t === 'haul' ? 'Haul' : 'naive'}: time, s`),
        ...(both ? ['Time Haul / naive'] : []),
        ...wanted.map((t) => `${t === 'haul' ? 'Haul' : 'naive'}: peak RSS, MiB`),
        ...(both ? ['RSS Haul / naive'] : []),
      ],
      kinds.map((kind) => [
        labels[kind],
        ...wanted.map((t) => range(get(kind, t).seconds, 2)),
        ...(both ? [times(ratioOf(kind).timeHaulOverNaive)] : []),
        ...wanted.map((t) => range(get(kind, t).peakRssMiB, 0)),
        ...(both ? [times(ratioOf(kind).peakRssHaulOverNaive)] : []),
      ]),
    ),
    '',
    `Median (min–max) of ${rounds} rounds, targets alternating, each run a fresh Node process (peak RSS = its maxRSS, ` +
      `including ~${fixed(median(summary.map((s) => s.rssBeforeMiB)))} MiB of loaded modules). Haul: \`inspectFile\` streaming the file once to ` +
      `SHA-256, file-type, clamd INSTREAM and sharp; naive: \`readFile\`, then SHA-256, \`fileTypeFromBuffer\`, clamscan \`scanStream\`, ` +
      `sharp per size. Thumbnails ${thumbnailSizes.join('/')} px WebP for the JPEG; the random binary is hashed and scanned only. ` +
      `Same local clamd (test signatures only: scanning is cheaper than with the full ClamAV database), fresh bytes for clamd every run; ` +
      `files in page cache; ${os.cpus().length} CPUs, Node ${process.version}. \`npm run bench -- processing\`.`,
  ].join('\n');
  log('');
  log('Markdown:');
  log('');
  log(markdown);

  const file = writeResults(name, {
    config: { rounds, kinds, targets: wanted, binaryMiB, jpeg: { width: jpegWidth, height: jpegHeight, bytes: files.jpeg?.size }, thumbnailSizes, clamd },
    elapsedS,
    summary,
    ratios,
    samples,
    markdown,
  });
  log('');
  log(`wrote ${file} (${fixed(elapsedS)} s of measuring)`);
}
