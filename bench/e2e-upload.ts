import os from 'node:os';
import path from 'node:path';
import { type BrowserSdk, chromiumPath, startBrowserSdk } from './lib/browser-sdk.js';
import { runNode } from './lib/children.js';
import { envInt, envIntList } from './lib/env.js';
import { writeRandomFile } from './lib/files.js';
import { type Benchmark, measureAlternately, type Named } from './lib/harness.js';
import { baseEnv, emptyDir, startHaul } from './lib/haul.js';
import { BENCH_DIST } from './lib/paths.js';
import { benchTempDir, fixed, machineLine, percent, percentRange, range, sizeLabel, writeReport } from './lib/report.js';
import { stopServers } from './lib/servers.js';
import { tusDelete } from './lib/tus-client.js';

/**
 * End-to-end encrypted uploads vs plain ones through the SDK in Node (`@haul/client/node`, as
 * built), into Haul on disk (WORKER=off). Each upload runs in a fresh process
 * (tools/sdk-upload.ts) that reports its wall time and its own peak RSS, so the client's memory is
 * measured apart from the server's: an encrypted upload must stay flat in the file's size.
 * Targets, alternated per round: plain (the SDK's default in Node: the file in one PATCH),
 * encrypted (the same single PATCH, its body sealed 16 records at a time as it is sent), and plain
 * in 16 MiB requests (the request pattern of encrypted uploads in browsers, whose XHR bodies must
 * be whole). Goal: encrypted ≥ 0.8× plain. In Chromium (unless BENCH_BROWSER=0 or no Chromium):
 * the SDK's browser build uploads a random Blob plain (one XHR) and encrypted (16 MiB XHRs, sealed
 * with WebCrypto), timed in the page.
 *
 * Chromium's memory: the page's renderer RSS, sampled every 25 ms during the upload.
 *
 * env: BENCH_ROUNDS (3), BENCH_SIZES_MIB (64,512), BENCH_BROWSER (1), BENCH_CHROMIUM_PATH (/usr/bin/chromium), BENCH_KEEP_TMP=1.
 */

const MiB = 2 ** 20;
/** Encrypted uploads' request size where bodies cannot stream (client-sdk ENCRYPTED_CHUNK_SIZE: 256 sealed records). */
const ENCRYPTED_CHUNK = 256 * (64 * 1024 + 16);
const CHILD = path.join(BENCH_DIST, 'tools', 'sdk-upload.js');

type Mode = 'plain' | 'encrypted';
interface Target extends Named {
  mode: Mode;
  chunk?: number;
  runtime: 'node' | 'chromium';
}

export const benchmark: Benchmark = {
  name: 'e2e-upload',
  description: 'SDK uploads in Node: end-to-end encrypted vs plain (throughput, client peak RSS)',
  async run(log) {
    const rounds = envInt('BENCH_ROUNDS', 3);
    const sizes = envIntList('BENCH_SIZES_MIB', [64, 512]);
    const groups = sizes.map((sizeMiB): Named & { sizeMiB: number } => ({ id: `${sizeMiB}MiB`, label: sizeLabel(sizeMiB), sizeMiB }));
    const targets: Target[] = [
      { id: 'plain', label: 'plain (1 request)', mode: 'plain', runtime: 'node' },
      { id: 'plain-16MiB', label: 'plain (16 MiB requests)', mode: 'plain', chunk: ENCRYPTED_CHUNK, runtime: 'node' },
      { id: 'encrypted', label: 'encrypted (1 request)', mode: 'encrypted', runtime: 'node' },
    ];
    const chromium = process.env.BENCH_BROWSER === '0' ? undefined : chromiumPath();
    if (chromium) {
      targets.push(
        { id: 'chromium-plain', label: 'Chromium plain', mode: 'plain', runtime: 'chromium' },
        { id: 'chromium-encrypted', label: 'Chromium encrypted', mode: 'encrypted', runtime: 'chromium' },
      );
    }
    const tmp = benchTempDir('e2e-upload', 3 * Math.max(...sizes) * MiB + sizes.reduce((a, b) => a + b, 0) * MiB);
    log(`e2e-upload: ${sizes.map(sizeLabel).join(', ')}; ${rounds} rounds; ${machineLine()}`);
    const started = Date.now();
    let peakRssMiB: Record<string, number | undefined> = {};
    let measured;
    const loadBefore = os.loadavg();
    const dataDir = path.join(tmp.root, 'haul');
    const haul = await startHaul({ name: 'haul', dataDir, maxSize: 2 * Math.max(...sizes) * MiB });
    let browser: BrowserSdk | undefined;
    try {
      if (chromium) browser = await startBrowserSdk(new URL(haul.endpoint).origin, chromium);
      const sources = new Map<number, string>();
      for (const sizeMiB of sizes) sources.set(sizeMiB, await writeRandomFile(path.join(tmp.root, `source-${sizeMiB}MiB.bin`), sizeMiB * MiB));
      const token = haul.headers.Authorization!.replace(/^Bearer /, '');
      const uploadOnce = async (target: Target, sizeMiB: number) => {
        if (target.runtime === 'chromium') {
          const r = await browser!.upload({ endpoint: haul.endpoint, token, sizeMiB, mode: target.mode });
          await tusDelete(r.url, haul);
          emptyDir(path.join(dataDir, 'files'));
          return { ms: r.ms, cpuS: undefined, peakRssMiB: r.rendererPeakRssMiB ?? undefined, url: r.url, bytes: undefined };
        }
        const run = await runNode({
          args: [CHILD, haul.endpoint, token, sources.get(sizeMiB)!, target.mode, ...(target.chunk ? [String(target.chunk)] : [])],
          env: baseEnv(),
        });
        if (run.code !== 0) throw new Error(`sdk-upload exited ${run.code}: ${run.stderr.slice(-2000)}`);
        const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as { ms: number; cpuS: number | undefined; peakRssMiB: number | undefined; url: string; bytes: number | undefined };
        await tusDelete(result.url, haul);
        emptyDir(path.join(dataDir, 'files'));
        return result;
      };
      log('  warm-up: 32 MiB each');
      const warm = await writeRandomFile(path.join(tmp.root, 'warm.bin'), 32 * MiB);
      sources.set(32, warm);
      for (const target of targets) await uploadOnce(target, 32);

      measured = await measureAlternately({
        rounds,
        groups,
        targets,
        log,
        async measure(target, group) {
          const r = await uploadOnce(target, group.sizeMiB);
          // Throughput of the file's own bytes (plaintext), whatever was sent.
          // Chromium: the renderer's RSS, sampled during the upload (the page's JS heap and WebCrypto's buffers; Blobs live in the browser process).
          return { values: { seconds: r.ms / 1000, mibps: group.sizeMiB / (r.ms / 1000), clientCpuS: r.cpuS, clientPeakRssMiB: r.peakRssMiB, sentMiB: r.bytes === undefined ? undefined : r.bytes / MiB } };
        },
        describe: ({ values: v }, target, group) =>
          `${group.label.padEnd(8)} ${target.label.padEnd(26)} ${fixed(v.seconds, 2).padStart(6)} s  ${fixed(v.mibps, 1).padStart(6)} MiB/s  client CPU ${fixed(v.clientCpuS, 2)} s  client peak RSS ${fixed(v.clientPeakRssMiB)} MiB`,
        onError: () => `--- haul output (tail):\n${haul.child.logs().slice(-4000)}`,
      });
    } finally {
      await browser?.close();
      peakRssMiB = await stopServers([{ id: 'haul', child: haul.child }], log);
      tmp.remove();
    }

    const m = measured;
    const plain = targets[0]!;
    const plainChunked = targets[1]!;
    const encrypted = targets[2]!;
    const loadAfter = os.loadavg();
    const rows = groups.flatMap((g) => targets.map((t) => ({ g, t })));
    const plainOf = (t: Target) => (t.runtime === 'chromium' ? targets.find((x) => x.id === 'chromium-plain')! : plain);
    const chunkedCell = (g: Named, t: Target) => (t.runtime === 'chromium' ? '–' : ratioCell(g, t, plainChunked));
    const ratioCell = (g: Named, t: Target, base: Target): string => (t === base ? '1' : `${percent(m.ratio(g, t, base, 'mibps'))} (${percentRange(m.ratio(g, t, base, 'mibps'))})`);
    writeReport({
      name: 'e2e-upload',
      text: [{
        title: `Encrypted vs plain SDK uploads (Node): median (min–max) over ${rounds} rounds; load ${loadBefore.map((l) => l.toFixed(2)).join(' ')} → ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
        table: {
          header: ['size', 'target', 'seconds', 'MiB/s', 'vs plain (same runtime)', 'vs plain 16 MiB', 'client CPU s', 'client peak RSS MiB (Chromium: renderer, sampled)'],
          rows: rows.map(({ g, t }) => [g.label, t.label, range(m.stat(g, t, 'seconds'), 2), fixed(m.stat(g, t, 'mibps')?.median, 1), ratioCell(g, t, plainOf(t)), chunkedCell(g, t), range(m.stat(g, t, 'clientCpuS'), 2), range(m.stat(g, t, 'clientPeakRssMiB'))]),
        },
      }],
      markdown: {
        table: {
          header: ['File', 'Upload', 'Time, s', 'MiB/s', 'Throughput vs plain', 'vs plain, 16 MiB requests', 'Client CPU, s', 'Client peak RSS, MiB (Chromium: renderer, sampled)'],
          rows: rows.map(({ g, t }) => [g.label, t.label, range(m.stat(g, t, 'seconds'), 2), fixed(m.stat(g, t, 'mibps')?.median, 1), ratioCell(g, t, plainOf(t)), chunkedCell(g, t), range(m.stat(g, t, 'clientCpuS'), 2), range(m.stat(g, t, 'clientPeakRssMiB'))]),
        },
        caption:
          `Median (min–max) of ${rounds} rounds, targets alternated; ratios of medians (per-round range). Each upload in a fresh Node process ` +
          `(@haul/client/node, file path input, no resume state); Haul on disk, WORKER=off; ${os.cpus().length} CPUs, Node ${process.version}, ` +
          `load ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${loadAfter.map((l) => l.toFixed(2)).join(' ')} after. \`npm run bench -- e2e-upload\`.`,
      },
      json: {
        config: { rounds, sizesMiB: sizes, encryptedChunkBytes: ENCRYPTED_CHUNK },
        elapsedS: (Date.now() - started) / 1000,
        loadBefore,
        loadAfter,
        peakRssMiB,
        summary: m.summary(groups, targets, ['seconds', 'mibps', 'clientCpuS', 'clientPeakRssMiB', 'sentMiB']),
        ratios: groups.map((g) => ({
          group: g.id,
          encryptedOverPlain: m.ratio(g, encrypted, plain, 'mibps'),
          encryptedOverPlain16MiB: m.ratio(g, encrypted, plainChunked, 'mibps'),
          chromiumEncryptedOverPlain: chromium ? m.ratio(g, targets[4]!, targets[3]!, 'mibps') : undefined,
        })),
        samples: m.samples,
      },
    }, log);
  },
};
