import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { S3 } from '@aws-sdk/client-s3';
import { type Backend, type BackendHaul, startBackendHaul, stopBackendHauls } from './lib/backend-haul.js';
import { envChoices, envInt, envIntList, envList } from './lib/env.js';
import { sha256File, writeRandomFile } from './lib/files.js';
import { type Benchmark, measureAlternately, type Named } from './lib/harness.js';
import { emptyDir } from './lib/haul.js';
import { benchTempDir, fixed, machineLine, range, sizeLabel, times, writeReport } from './lib/report.js';
import { createS3, deletePrefix, listObjects, uniquePrefix } from './lib/s3.js';
import { ensureLocalS3, s3Description } from './lib/services.js';
import { expectComplete, tusDelete } from './lib/tus-client.js';
import { tusJsUpload } from './lib/tus-js.js';
import { type CutPolicy, startWanProxy, type WanProfile, type WanProxy, windowLimitMiBps } from './lib/wan-proxy.js';

/**
 * Parallel uploads over a long network path: tus-js-client with parallelUploads 1/2/4/8 through
 * the WAN proxy (lib/wan-proxy.ts: added RTT, a per-connection window, cuts) into Haul on disk
 * and on S3. On loopback parallel uploads gain nothing (no latency to hide; `bench -- parallel`);
 * on a path where one TCP connection is window-limited, N streams get N windows.
 *
 * Profiles: `long` = 80 ms RTT, 256 KiB window (≈ 3.1 MiB/s per connection); `mobile` = 300 ms,
 * 64 KiB (≈ 0.2 MiB/s). Cut variants reset one connection in ten (every 10th, after a random
 * 64 KiB – one chunk of its bytes); the client retries (tus-js-client retryDelays) and the stored
 * bytes must still hash to the source's. Every request gets its own connection (no keep-alive),
 * so "connections" are requests and a cut hits one PATCH; the handshake costs one RTT each.
 *
 * env: BENCH_ROUNDS (3), BENCH_PARALLEL (1,2,4,8), BENCH_BACKENDS (disk,s3), BENCH_PROFILES (long,mobile),
 *      BENCH_CUT_PERCENT (0,10; cuts apply to the long profile), BENCH_SIZE_MIB (200, long),
 *      BENCH_MOBILE_SIZE_MIB (16, disk only: 0.2 MiB/s is slow), BENCH_CHUNK_MIB (8), BENCH_TIMEOUT_MS.
 *      S3: as in ingest-s3 (local Swift unless S3_BUCKET etc. are set).
 */

const MiB = 2 ** 20;
const PROFILES = {
  long: { rttMs: 80, windowBytes: 256 * 1024 },
  mobile: { rttMs: 300, windowBytes: 64 * 1024 },
} as const satisfies Record<string, WanProfile>;
type ProfileId = keyof typeof PROFILES;
const RETRY_DELAYS = [0, 250, 500, 1000, 2000, 4000, 8000];

interface Group extends Named {
  profile: ProfileId;
  backend: Backend;
  sizeMiB: number;
  cutPercent: number;
}

const hashStream = async (stream: Readable) => {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
};

/** The one stored upload's size and SHA-256 (disk: its data file; S3: its object). */
async function storedFile(server: BackendHaul, s3: S3 | undefined, bucket: string | undefined): Promise<{ size: number; sha256: string }> {
  if ('dir' in server.store) {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (!entry.name.endsWith('.json')) files.push(full);
      }
    };
    walk(server.store.dir);
    if (files.length !== 1) throw new Error(`expected one stored file, found ${files.length}`);
    return { size: fs.statSync(files[0]!).size, sha256: await sha256File(files[0]!) };
  }
  const objects = (await listObjects(s3!, bucket!, server.store.prefix)).filter((o) => !o.key.endsWith('.info') && !o.key.endsWith('.part'));
  if (objects.length !== 1) throw new Error(`expected one stored object, found ${objects.map((o) => o.key).join(', ')}`);
  const object = await s3!.getObject({ Bucket: bucket!, Key: objects[0]!.key });
  return { size: objects[0]!.size, sha256: await hashStream(object.Body as Readable) };
}

export const benchmark: Benchmark = {
  name: 'wan',
  description: 'parallel uploads 1/2/4/8 through an emulated long/mobile path (RTT, per-connection window, cuts), disk and S3',
  async run(log) {
    const rounds = envInt('BENCH_ROUNDS', 3);
    const streamCounts = [...new Set([1, ...envIntList('BENCH_PARALLEL', [1, 2, 4, 8])])].sort((a, b) => a - b);
    const backends = envChoices('BENCH_BACKENDS', ['disk', 's3'] as const);
    const profiles = envChoices('BENCH_PROFILES', ['long', 'mobile'] as const);
    const cutPercents = envList('BENCH_CUT_PERCENT', ['0', '10']).map((item) => {
      const value = Number(item);
      if (!Number.isInteger(value) || value < 0 || value > 50) throw new Error(`BENCH_CUT_PERCENT: "${item}" is not a whole percentage from 0 to 50`);
      return value;
    });
    const sizeMiB = envInt('BENCH_SIZE_MIB', 200);
    const mobileSizeMiB = envInt('BENCH_MOBILE_SIZE_MIB', 16);
    const chunkSize = envInt('BENCH_CHUNK_MIB', 8) * MiB;
    // At a quarter of the slowest profile's one-connection rate, plus retries.
    const timeoutMs = (mib: number, profile: WanProfile) => envInt('BENCH_TIMEOUT_MS', Math.ceil((mib / windowLimitMiBps(profile)) * 4000) + 120_000);

    const groups: Group[] = profiles.flatMap((profile) => backends
      .filter((backend) => profile === 'long' || backend === 'disk')
      .flatMap((backend) => (profile === 'long' ? cutPercents : [0]).map((cutPercent): Group => {
        const mib = profile === 'long' ? sizeMiB : mobileSizeMiB;
        const cut = cutPercent > 0 ? `, ${cutPercent}% cut` : '';
        return { id: `${profile}-${backend}-${mib}MiB-cut${cutPercent}`, label: `${profile}, ${backend}, ${sizeLabel(mib)}${cut}`, profile, backend, sizeMiB: mib, cutPercent };
      })));
    if (groups.length === 0) throw new Error('nothing to measure');
    const streams = streamCounts.map((n): Named & { streams: number } => ({ id: String(n), label: n === 1 ? '1 stream' : `${n} streams`, streams: n }));
    const sizes = [...new Set(groups.map((g) => g.sizeMiB))];
    const active = [...new Set(groups.map((g) => g.backend))];

    const tmp = benchTempDir('wan', sizes.reduce((a, b) => a + b, 0) * MiB * 3 + 512 * MiB);
    const settings = active.includes('s3') ? ensureLocalS3(log) : undefined;
    const s3 = settings && createS3(settings);
    const runPrefix = uniquePrefix('wan');
    log(`wan: streams ${streamCounts.join(', ')}; ${groups.map((g) => g.label).join('; ')}; ${chunkSize / MiB} MiB chunks, ${rounds} rounds`);
    for (const p of profiles) log(`  ${p}: ${PROFILES[p].rttMs} ms RTT, ${PROFILES[p].windowBytes / 1024} KiB window ≈ ${fixed(windowLimitMiBps(PROFILES[p]), 2)} MiB/s per connection`);
    log(`  temp dir ${tmp.root}, ${machineLine()}`);

    const servers = new Map<Backend, BackendHaul>();
    const proxies = new Map<string, WanProxy>();
    // One connection per request: a cut then hits one request, and every variant pays the same handshakes.
    const agent = new http.Agent({ keepAlive: false });
    const started = Date.now();
    let peakRssMiB: Record<string, number | undefined> = {};
    let cleanup: { left: number; text: string } | undefined;
    let measured;
    try {
      const sources = new Map<number, { file: string; sha256: string }>();
      for (const mib of sizes) {
        const file = await writeRandomFile(path.join(tmp.root, `source-${mib}MiB.bin`), mib * MiB);
        sources.set(mib, { file, sha256: await sha256File(file) });
      }
      for (const backend of active) {
        const haul = await startBackendHaul(backend, { root: tmp.root, runPrefix, settings, maxSize: Math.max(...sizes) * MiB });
        servers.set(backend, haul);
        log(`  haul (${backend}) pid ${haul.child.pid}  ${haul.endpoint}`);
      }
      for (const group of groups) {
        const server = servers.get(group.backend)!;
        const cut: CutPolicy | undefined = group.cutPercent > 0
          ? { every: Math.round(100 / group.cutPercent), minBytes: 64 * 1024, maxBytes: chunkSize, seed: 19 }
          : undefined;
        proxies.set(group.id, await startWanProxy(new URL(server.endpoint).origin, PROFILES[group.profile], cut));
      }

      const uploadOnce = async (group: Group, parallel: number) => {
        const server = servers.get(group.backend)!;
        const proxy = proxies.get(group.id)!;
        const source = sources.get(group.sizeMiB)!;
        const size = group.sizeMiB * MiB;
        const cutBefore = proxy.stats.cut;
        let direct: string | undefined;
        try {
          const result = await tusJsUpload({
            endpoint: `${proxy.url}/files/`, file: source.file, headers: server.headers, parallel, chunkSize,
            timeoutMs: timeoutMs(group.sizeMiB, PROFILES[group.profile]), retryDelays: RETRY_DELAYS, agent,
          });
          // Checked and removed on the server directly, not through the slow path.
          direct = new URL(new URL(result.url).pathname, server.endpoint).href;
          await expectComplete(direct, size, server.headers);
          const stored = await storedFile(server, s3, settings?.S3_BUCKET);
          if (stored.size !== size || stored.sha256 !== source.sha256) {
            throw new Error(`stored ${stored.size} bytes with SHA-256 ${stored.sha256}; sent ${size} bytes with ${source.sha256}`);
          }
          return { ...result, cuts: proxy.stats.cut - cutBefore };
        } finally {
          if (direct) await tusDelete(direct, server);
          if ('dir' in server.store) emptyDir(server.store.dir);
          else await deletePrefix(s3!, settings!.S3_BUCKET, server.store.prefix);
        }
      };

      measured = await measureAlternately({
        rounds,
        groups,
        targets: streams,
        log,
        async measure(target, group) {
          const r = await uploadOnce(group, target.streams);
          return { values: { seconds: r.ms / 1000, mibps: group.sizeMiB / (r.ms / 1000), cuts: r.cuts } };
        },
        describe: ({ values: v }, target, group) =>
          `${group.label.padEnd(26)}  ${target.label.padStart(10)}  ${fixed(v.seconds, 1).padStart(6)} s  ${fixed(v.mibps, 2).padStart(6)} MiB/s` +
          (group.cutPercent > 0 ? `  ${v.cuts} connection(s) cut, bytes identical` : '  bytes identical'),
        onError: (_, group) => `--- haul (${group.backend}) output (tail):\n${servers.get(group.backend)!.child.logs().slice(-4000)}`,
      });
    } finally {
      for (const proxy of proxies.values()) await proxy.close();
      agent.destroy();
      ({ peakRssMiB, cleanup } = await stopBackendHauls(servers.values(), { s3, settings, runPrefix }, log));
      tmp.remove();
    }

    const m = measured;
    const one = streams[0]!;
    const speedup = (g: Named, t: Named) => (t === one ? '1 (baseline)' : times(m.ratio(g, one, t, 'seconds')));
    const rows = groups.flatMap((g) => streams.map((t) => ({ g, t })));
    const limits = profiles.map((p) => `${p} ${PROFILES[p].rttMs} ms RTT / ${PROFILES[p].windowBytes / 1024} KiB window (≤ ${fixed(windowLimitMiBps(PROFILES[p]), 2)} MiB/s per connection)`).join('; ');
    writeReport({
      name: 'wan',
      text: [{
        title: `WAN: median (min–max) over ${rounds} rounds; speedup = one-stream time / this time`,
        table: {
          header: ['path, storage, size', 'streams', 'seconds', 'MiB/s', 'speedup', 'cuts'],
          rows: rows.map(({ g, t }) => [g.label, t.id, range(m.stat(g, t, 'seconds'), 1), fixed(m.stat(g, t, 'mibps')?.median, 2), speedup(g, t), fixed(m.stat(g, t, 'cuts')?.median)]),
        },
      }],
      markdown: {
        table: {
          header: ['Path, storage, upload', 'Streams', 'Total time, s', 'MiB/s', 'Speedup vs 1 stream', 'Connections cut'],
          rows: rows.map(({ g, t }) => [g.label, t.id, range(m.stat(g, t, 'seconds'), 1), fixed(m.stat(g, t, 'mibps')?.median, 2), speedup(g, t), g.cutPercent > 0 ? range(m.stat(g, t, 'cuts')) : '–']),
        },
        caption:
          `Median (min–max) of ${rounds} rounds, stream counts measured alternately; speedup = ratio of medians (per-round range). ` +
          `Through bench/lib/wan-proxy.ts on 127.0.0.1: ${limits}; one connection per request; ` +
          `tus-js-client ${chunkSize / MiB} MiB chunks with retries; every upload's stored bytes hashed against the source` +
          (settings ? `; S3: ${s3Description(settings)}` : '') +
          `; ${os.cpus().length} CPUs, Node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}. \`npm run bench -- wan\`.`,
      },
      json: {
        config: { rounds, streamCounts, backends: active, profiles: Object.fromEntries(profiles.map((p) => [p, PROFILES[p]])), cutPercents, sizeMiB, mobileSizeMiB, chunkMiB: chunkSize / MiB },
        elapsedS: (Date.now() - started) / 1000,
        peakRssMiB,
        s3LeftAfterCleanup: cleanup?.left,
        summary: m.summary(groups, streams, ['seconds', 'mibps', 'cuts']),
        speedups: rows.filter(({ t }) => t !== one).map(({ g, t }) => ({ group: g.id, streams: t.streams, oneOverThis: m.ratio(g, one, t, 'seconds') })),
        samples: m.samples,
      },
    }, log);
  },
};
