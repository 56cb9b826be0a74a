import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runNode } from './lib/children.js';
import { envChoices, envInt } from './lib/env.js';
import { writeNoiseJpeg } from './lib/files.js';
import { type Benchmark, measureAlternately, type Named } from './lib/harness.js';
import { assertBuilt, baseEnv } from './lib/haul.js';
import { pdfFile } from './lib/pdf-file.js';
import { BENCH_DIST } from './lib/paths.js';
import { benchTempDir, fixed, machine, machineLine, range, times, writeReport } from './lib/report.js';

/**
 * Previews of what people share (issue 16), each job a fresh Node process running the built
 * server's code (lib/media-preview-child.ts), so its peak RSS is the job's own:
 * - 24 MP JPEG, three WebP sizes + ThumbHash: Haul's one decode (renderPreviews) vs a decode per
 *   size one after another (the baseline), alternating. Goal ≤ 1.2 s, ≥ 1.5× faster.
 * - Video poster (describeMedia: ffprobe, ffmpeg seeking to 1 s, previews): a 10 MiB 1080p clip
 *   and the same clip looped to 1 GiB, alternating — the ratio shows the cost does not grow with
 *   the file. Goal ≤ 2 s for 1 GiB.
 * - PDF first page (pdfinfo + pdftoppm + previews): 1 page vs 500 pages. Goal ≤ 1.5 s for 500.
 * env: BENCH_ROUNDS (5), BENCH_GROUPS (jpeg,video,pdf), BENCH_VIDEO_MIB (1024), BENCH_KEEP_TMP=1.
 */

const MiB = 2 ** 20;
type Task = 'one-decode' | 'sequential' | 'media';
interface Job extends Named { task: Task; file: string; mime?: string }
interface ChildResult { ms: number; peakRssMiB: number; sizes: number[]; note?: string | null }

async function runJob(job: Job): Promise<ChildResult> {
  const args = [path.join(BENCH_DIST, 'lib/media-preview-child.js'), job.task, job.file, ...(job.mime ? [job.mime] : [])];
  const { code, signal, stdout, stderr } = await runNode({ args, env: baseEnv() });
  const line = stdout.split('\n').filter((l) => l.startsWith('{')).at(-1);
  if (code !== 0 || !line) throw new Error(`${job.id} exited with ${signal ?? code}:\n${stderr.slice(-3000)}`);
  const result = JSON.parse(line) as ChildResult;
  if (result.sizes.length !== 3 || result.note) throw new Error(`${job.id}: no previews (${result.note ?? result.sizes.join()})`);
  return result;
}

const ffmpeg = (args: string[]) => execFileSync('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: 'inherit' });

/** A text PDF of `pages` pages (Helvetica, not embedded) with a correct cross-reference table. */
function writePdf(file: string, pages: number): void {
  const objects = ['<< /Type /Catalog /Pages 2 0 R >>', '', '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'];
  const kids: number[] = [];
  for (let n = 1; n <= pages; n++) {
    const text = `BT /F1 36 Tf 72 680 Td (Page ${n} of a long report) Tj ET 0.2 0.4 0.8 rg 72 72 300 400 re f`;
    objects.push(`<< /Length ${text.length} >>\nstream\n${text}\nendstream`);
    objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${objects.length} 0 R /Resources << /Font << /F1 3 0 R >> >> >>`);
    kids.push(objects.length);
  }
  objects[1] = `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${pages} >>`;
  fs.writeFileSync(file, pdfFile('%PDF-1.7\n', objects, 1), 'latin1');
}

export const benchmark: Benchmark = {
  name: 'media-previews',
  description: 'previews: 24 MP JPEG one decode vs a decode per size; video poster 10 MiB vs 1 GiB; PDF first page 1 vs 500 pages',
  async run(log) {
    assertBuilt();
    const rounds = envInt('BENCH_ROUNDS', 5);
    const groups = envChoices('BENCH_GROUPS', ['jpeg', 'video', 'pdf'] as const);
    const videoMiB = envInt('BENCH_VIDEO_MIB', 1024);
    const tmp = benchTempDir('media-previews', (groups.includes('video') ? videoMiB * MiB : 0) + 256 * MiB);
    log(`media-previews: ${groups.join(', ')}; ${rounds} rounds, a fresh process per job; ${machineLine()}`);
    const started = Date.now();
    const pairs: Array<{ title: string; a: Job; b: Job; goal: string }> = [];
    const at = (name: string) => path.join(tmp.root, name);
    try {
      if (groups.includes('jpeg')) {
        await writeNoiseJpeg(at('photo.jpg'), { width: 6000, height: 4000 });
        const file = at('photo.jpg');
        pairs.push({
          title: `6000×4000 JPEG (${fixed(fs.statSync(file).size / MiB, 1)} MiB): 160/480/1280 WebP + ThumbHash`,
          a: { id: 'one-decode', label: 'Haul: one decode', task: 'one-decode', file },
          b: { id: 'sequential', label: 'a decode per size', task: 'sequential', file },
          goal: 'Haul ≤ 1.2 s and ≥ 1.5× faster',
        });
      }
      if (groups.includes('video')) {
        // ~10 MiB of 1080p H.264 (8 Mbit/s, 10 s, a keyframe every second), then looped to the big size.
        ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30:duration=10', '-c:v', 'libx264', '-preset', 'ultrafast',
          '-b:v', '8M', '-maxrate', '8M', '-bufsize', '8M', '-g', '30', '-pix_fmt', 'yuv420p', at('clip.mp4')]);
        const copies = Math.max(1, Math.round((videoMiB * MiB) / fs.statSync(at('clip.mp4')).size));
        ffmpeg(['-stream_loop', String(copies - 1), '-i', at('clip.mp4'), '-c', 'copy', at('long.mp4')]);
        const mib = (f: string) => fixed(fs.statSync(f).size / MiB);
        pairs.push({
          title: `video poster (1080p H.264 MP4): ${mib(at('long.mp4'))} MiB vs ${mib(at('clip.mp4'))} MiB`,
          a: { id: 'video-big', label: `${mib(at('long.mp4'))} MiB`, task: 'media', file: at('long.mp4'), mime: 'video/mp4' },
          b: { id: 'video-small', label: `${mib(at('clip.mp4'))} MiB`, task: 'media', file: at('clip.mp4'), mime: 'video/mp4' },
          goal: 'big ≤ 2 s, about the small one’s cost',
        });
      }
      if (groups.includes('pdf')) {
        writePdf(at('long.pdf'), 500);
        writePdf(at('short.pdf'), 1);
        pairs.push({
          title: 'PDF first page at 1280 px: 500 pages vs 1 page',
          a: { id: 'pdf-500', label: '500 pages', task: 'media', file: at('long.pdf'), mime: 'application/pdf' },
          b: { id: 'pdf-1', label: '1 page', task: 'media', file: at('short.pdf'), mime: 'application/pdf' },
          goal: '500 pages ≤ 1.5 s',
        });
      }
      log('  warm-up: one run of each job');
      for (const { a, b } of pairs) for (const job of [a, b]) await runJob(job);

      const results = [];
      for (const pair of pairs) {
        log(`  ${pair.title}`);
        const group: Named = { id: pair.a.id, label: pair.title };
        const m = await measureAlternately({
          rounds, groups: [group], targets: [pair.a, pair.b], log,
          async measure(job) {
            const r = await runJob(job);
            return { values: { seconds: r.ms / 1000, peakRssMiB: r.peakRssMiB } };
          },
          describe: ({ values: v }, job) => `${job.label.padEnd(20)} ${fixed(v.seconds, 3).padStart(7)} s  peak RSS ${fixed(v.peakRssMiB)} MiB`,
        });
        const ratio = m.ratio(group, pair.a, pair.b, 'seconds');
        results.push({ pair, m, group, ratio });
      }
      const load = machine().loadavgAtEnd.map((l) => l.toFixed(2)).join(' ');
      const rows = results.flatMap(({ pair, m, group, ratio }) => [pair.a, pair.b].map((job, i) => [
        pair.title, job.label, range(m.stat(group, job, 'seconds'), 3), range(m.stat(group, job, 'peakRssMiB')),
        i === 0 ? times(ratio) : '', i === 0 ? pair.goal : '',
      ]));
      const header = ['job', 'target', 'time, s', 'peak RSS, MiB', 'time first / second', 'goal'];
      writeReport({
        name: 'media-previews',
        text: [{ title: `Previews: median (min–max) over ${rounds} rounds, alternating, a fresh process each; load ${load}`, table: { header, rows } }],
        markdown: {
          table: { header, rows },
          caption: `Median (min–max) of ${rounds} rounds, the two targets of each row alternating, each job a fresh Node process ` +
            '(peak RSS = its maxRSS, ~100 MiB of which is Node and sharp loaded; decoders are separate prlimit-bounded processes). ' +
            `Machine load at the end: ${load}. \`npm run bench -- media-previews\`.`,
        },
        json: {
          config: { rounds, groups, videoMiB },
          elapsedS: (Date.now() - started) / 1000,
          results: results.map(({ pair, m, group, ratio }) => ({
            job: pair.title, goal: pair.goal, ratio, summary: m.summary([group], [pair.a, pair.b], ['seconds', 'peakRssMiB']), samples: m.samples,
          })),
        },
      }, log);
    } finally {
      tmp.remove();
    }
  },
};
