// Disk-ingest benchmark: how fast can a client push bytes into Haul (disk storage), compared
// with bare @tus/server + FileStore and with a raw node:http pipe into a file?
//
// The three servers run as child processes side by side and are measured alternately (round
// robin, the starting target rotating every round), so machine noise hits them all alike.
//
// env: BENCH_ROUNDS (5), BENCH_SIZE_MIB (1024), BENCH_CHUNK_MIB (8), BENCH_WARMUP_MIB (256),
//      BENCH_MODES (whole,chunked), BENCH_TARGETS (haul,bare-tus,raw-pipe),
//      BENCH_TIMEOUT_MS (per request), BENCH_PROFILE=<dir> (run the servers with --cpu-prof),
//      BENCH_NODE_ARGS (extra node flags for the servers, e.g. "--trace-gc"),
//      BENCH_HAUL_LOG_LEVEL (warn), BENCH_KEEP_TMP=1 (keep the temp dir for inspection).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, processCpuSeconds, processPeakRssMiB, startChild } from './lib/children.mjs';
import { request } from './lib/http-client.mjs';
import { fixed, markdownTable, median, summarize, textTable } from './lib/stats.mjs';
import { tusDelete, tusUpload } from './lib/tus-client.mjs';

export const name = 'ingest-disk';
export const description = 'tus upload throughput to disk: Haul vs bare @tus/server vs raw pipe';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(BENCH_DIR, '..');
const HAUL_MAIN = path.join(REPO_ROOT, 'server/dist/main.js');
const MiB = 1024 * 1024;

const envInt = (key, fallback) => {
  const raw = process.env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${key} must be a positive integer, got "${raw}"`);
  return value;
};
const envList = (key, fallback) => (process.env[key] ? process.env[key].split(',').map((s) => s.trim()).filter(Boolean) : fallback);

const TARGET_LABELS = { haul: 'Haul', 'bare-tus': 'bare @tus/server', 'raw-pipe': 'raw pipe' };
const MODE_LABELS = { whole: '1 PATCH', chunked: 'PATCHes' };

/** Everything below `dir` (recursively): removes files and sub-directories, keeps `dir`. */
function emptyDir(dir) {
  for (const entry of fs.readdirSync(dir)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
}

/** Total bytes of upload data files below `dir` (tus metadata `.json` files excluded). */
function dataBytes(dir) {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += dataBytes(full);
    else if (entry.isFile() && !entry.name.endsWith('.json')) total += fs.statSync(full).size;
  }
  return total;
}

/** Node flags for the server processes: --cpu-prof with BENCH_PROFILE, plus BENCH_NODE_ARGS verbatim. */
function nodeArgs(profileDir, target) {
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  return profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${target}.${Date.now()}.cpuprofile`, ...extra]
    : extra;
}

async function startTargets({ root, wanted, maxSize, profileDir, log }) {
  const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir() };
  const targets = [];
  try {
    if (wanted.includes('haul')) {
      if (!fs.existsSync(HAUL_MAIN)) throw new Error(`${HAUL_MAIN} is missing: build first (npx tsc -b)`);
      const dataDir = path.join(root, 'haul');
      fs.mkdirSync(dataDir);
      const logLevel = process.env.BENCH_HAUL_LOG_LEVEL || 'warn';
      // At LOG_LEVEL=warn Haul does not log "haul listening", so pick the port here and poll /healthz.
      const port = await freePort();
      const proc = await startChild({
        name: 'haul',
        args: [...nodeArgs(profileDir, 'haul'), HAUL_MAIN],
        env: {
          ...baseEnv,
          NODE_ENV: 'development',
          HOST: '127.0.0.1',
          PORT: String(port),
          DATA_DIR: dataDir,
          LOG_LEVEL: logLevel,
          AUTH_MODE: 'dev',
          MAX_UPLOAD_SIZE: String(Math.max(maxSize, 10 * 1024 * MiB)),
          EXPIRY_SWEEP_INTERVAL_SECONDS: '3600',
        },
        readyMsg: 'haul listening',
        probeUrl: `http://127.0.0.1:${port}/healthz`,
        logFile: path.join(root, 'haul.log'),
      });
      const res = await request(`${proc.url}/api/dev/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ user: 'bench' }),
      });
      if (res.status !== 200) throw new Error(`dev token: ${res.status} ${res.body}`);
      const { token } = JSON.parse(res.body);
      targets.push({ id: 'haul', proc, endpoint: `${proc.url}/files/`, headers: { Authorization: `Bearer ${token}` }, uploadDir: path.join(dataDir, 'files') });
    }
    for (const id of ['bare-tus', 'raw-pipe']) {
      if (!wanted.includes(id)) continue;
      const dir = path.join(root, id);
      fs.mkdirSync(dir);
      const proc = await startChild({
        name: id,
        args: [...nodeArgs(profileDir, id), path.join(BENCH_DIR, 'baselines', `${id}.mjs`)],
        env: { ...baseEnv, DIR: dir, PORT: '0', HOST: '127.0.0.1', ...(id === 'bare-tus' && process.env.BARE_TUS_POST_RECEIVE ? { BARE_TUS_POST_RECEIVE: process.env.BARE_TUS_POST_RECEIVE } : {}) },
        readyMsg: 'listening',
        logFile: path.join(root, `${id}.log`),
      });
      targets.push({ id, proc, endpoint: `${proc.url}/files/`, headers: {}, uploadDir: dir });
    }
  } catch (error) {
    await Promise.all(targets.map((t) => t.proc.stop()));
    throw error;
  }
  for (const t of targets) {
    t.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    log(`  ${t.id.padEnd(8)} pid ${t.proc.pid}  ${t.endpoint}`);
  }
  return targets;
}

/** One upload, then delete it (tus DELETE, then wipe the directory to be sure). */
async function measureOnce(target, { size, chunkSize, timeoutMs }) {
  globalThis.gc?.();
  const serverCpu0 = processCpuSeconds(target.proc.pid);
  const clientCpu0 = process.cpuUsage();
  let result;
  try {
    result = await tusUpload({ endpoint: target.endpoint, size, chunkSize, headers: target.headers, agent: target.agent, timeoutMs });
    const stored = dataBytes(target.uploadDir);
    if (stored !== size) throw new Error(`${target.id}: ${stored} bytes on disk after uploading ${size}`);
  } finally {
    const serverCpu1 = processCpuSeconds(target.proc.pid);
    const clientCpu = process.cpuUsage(clientCpu0);
    if (result) {
      result.serverCpuS = serverCpu0 === undefined || serverCpu1 === undefined ? undefined : serverCpu1 - serverCpu0;
      result.clientCpuS = (clientCpu.user + clientCpu.system) / 1e6;
      await tusDelete({ location: result.location, headers: target.headers, agent: target.agent });
    }
    emptyDir(target.uploadDir);
  }
  return result;
}

export async function run({ log = console.log } = {}) {
  const rounds = envInt('BENCH_ROUNDS', 5);
  const sizeMiB = envInt('BENCH_SIZE_MIB', 1024);
  const chunkMiB = envInt('BENCH_CHUNK_MIB', 8);
  const warmupMiB = envInt('BENCH_WARMUP_MIB', 256);
  const modes = envList('BENCH_MODES', ['whole', 'chunked']);
  const wanted = envList('BENCH_TARGETS', ['haul', 'bare-tus', 'raw-pipe']);
  for (const m of modes) if (!MODE_LABELS[m]) throw new Error(`unknown mode ${m} (whole, chunked)`);
  for (const t of wanted) if (!TARGET_LABELS[t]) throw new Error(`unknown target ${t} (haul, bare-tus, raw-pipe)`);
  const size = sizeMiB * MiB;
  const chunkSize = chunkMiB * MiB;
  const modeChunk = { whole: size, chunked: chunkSize };
  // Generous: a 1 GiB PATCH at 5 MiB/s still finishes.
  const timeoutFor = (bytes) => envInt('BENCH_TIMEOUT_MS', Math.max(120_000, Math.ceil(bytes / (5 * MiB)) * 1000));
  const profileDir = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;
  if (profileDir) fs.mkdirSync(profileDir, { recursive: true });

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'haul-bench-'));
  const removeRoot = () => {
    if (!process.env.BENCH_KEEP_TMP) fs.rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', removeRoot);

  // Only one upload exists at a time, but leave room for it plus slack.
  const { bavail, bsize } = fs.statfsSync(root);
  const freeBytes = bavail * bsize;
  if (freeBytes < size * 2 + 512 * MiB) {
    throw new Error(`${root}: ${fixed(freeBytes / MiB)} MiB free, need ${fixed((size * 2 + 512 * MiB) / MiB)} MiB`);
  }

  log(`ingest-disk: ${sizeMiB} MiB per upload, modes ${modes.join('+')} (chunks of ${chunkMiB} MiB), ${rounds} rounds`);
  log(`  temp dir ${root} (${fixed(freeBytes / 1024 / MiB, 1)} GiB free), node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const targets = await startTargets({ root, wanted, maxSize: size, profileDir, log });
  const samples = [];
  const started = Date.now();
  try {
    log(`  warm-up: ${warmupMiB} MiB per target and mode`);
    for (const t of targets) {
      for (const mode of modes) {
        await measureOnce(t, { size: warmupMiB * MiB, chunkSize: Math.min(modeChunk[mode], warmupMiB * MiB), timeoutMs: timeoutFor(warmupMiB * MiB) });
      }
    }
    for (let round = 1; round <= rounds; round++) {
      for (const mode of modes) {
        const shift = (round - 1) % targets.length;
        const order = [...targets.slice(shift), ...targets.slice(0, shift)];
        for (const t of order) {
          const r = await measureOnce(t, { size, chunkSize: modeChunk[mode], timeoutMs: timeoutFor(Math.min(size, modeChunk[mode])) }).catch((error) => {
            throw new Error(`${t.id}, ${mode}, round ${round}: ${error.message}\n--- ${t.id} output (tail):\n${t.proc.logs().slice(-4000)}`, { cause: error });
          });
          const mibps = sizeMiB / (r.ms / 1000);
          samples.push({ round, mode, target: t.id, ms: r.ms, mibps, patches: r.patches, serverCpuS: r.serverCpuS, clientCpuS: r.clientCpuS });
          log(`  round ${round}/${rounds}  ${mode.padEnd(7)}  ${t.id.padEnd(8)}  ${fixed(mibps).padStart(5)} MiB/s  ${fixed(r.ms).padStart(6)} ms  server CPU ${fixed(r.serverCpuS, 2)} s  client CPU ${fixed(r.clientCpuS, 2)} s`);
        }
      }
    }
  } finally {
    for (const t of targets) {
      t.peakRssMiB = processPeakRssMiB(t.proc.pid);
      t.agent.destroy();
    }
    const stopped = await Promise.all(targets.map((t) => t.proc.stop()));
    stopped.forEach(({ code, signal }, i) => {
      if (code !== 0) log(`  note: ${targets[i].id} exited with ${signal ?? code}`);
    });
  }
  const elapsedS = (Date.now() - started) / 1000;

  // ---- summary
  const summary = [];
  for (const mode of modes) {
    for (const t of targets) {
      const mine = samples.filter((s) => s.mode === mode && s.target === t.id);
      summary.push({
        mode,
        target: t.id,
        mibps: summarize(mine.map((s) => s.mibps)),
        serverCpuSPerGiB: mine.every((s) => s.serverCpuS !== undefined) ? median(mine.map((s) => s.serverCpuS / (sizeMiB / 1024))) : undefined,
        clientCpuSPerGiB: median(mine.map((s) => s.clientCpuS / (sizeMiB / 1024))),
      });
    }
  }
  const get = (mode, target) => summary.find((s) => s.mode === mode && s.target === target);
  /** Ratio of medians, and the median of the per-round ratios (paired: same round, same noise). */
  const ratio = (mode, a, b) => {
    if (!get(mode, a) || !get(mode, b)) return undefined;
    const paired = [];
    for (let round = 1; round <= rounds; round++) {
      const x = samples.find((s) => s.mode === mode && s.target === a && s.round === round);
      const y = samples.find((s) => s.mode === mode && s.target === b && s.round === round);
      if (x && y) paired.push(x.mibps / y.mibps);
    }
    return { ofMedians: get(mode, a).mibps.median / get(mode, b).mibps.median, pairedMedian: median(paired), pairedMin: Math.min(...paired), pairedMax: Math.max(...paired) };
  };
  const ratios = modes.map((mode) => ({ mode, haulOverBareTus: ratio(mode, 'haul', 'bare-tus'), haulOverRawPipe: ratio(mode, 'haul', 'raw-pipe') }));

  const pct = (r) => (r ? `${fixed(r.ofMedians * 100)}%` : '–');
  const cell = (s) => `${fixed(s.mibps.median)} (${fixed(s.mibps.min)}–${fixed(s.mibps.max)})`;

  log('');
  log(`Disk ingest, MiB/s: median (min–max) over ${rounds} rounds; CPU = server CPU seconds per GiB (median)`);
  log(
    textTable(
      ['mode', 'target', 'median', 'min', 'max', 'server CPU s/GiB', 'client CPU s/GiB', 'peak RSS MiB'],
      summary.map((s) => [
        MODE_LABELS[s.mode] + (s.mode === 'chunked' ? ` of ${chunkMiB} MiB` : ''),
        TARGET_LABELS[s.target],
        fixed(s.mibps.median),
        fixed(s.mibps.min),
        fixed(s.mibps.max),
        fixed(s.serverCpuSPerGiB, 2),
        fixed(s.clientCpuSPerGiB, 2),
        fixed(targets.find((t) => t.id === s.target).peakRssMiB),
      ]),
    ),
  );
  log('');
  log(
    textTable(
      ['mode', 'Haul / bare-tus', '(paired min–max)', 'Haul / raw-pipe', '(paired min–max)'],
      ratios.map((r) => [
        MODE_LABELS[r.mode],
        pct(r.haulOverBareTus),
        r.haulOverBareTus ? `${fixed(r.haulOverBareTus.pairedMin * 100)}–${fixed(r.haulOverBareTus.pairedMax * 100)}%` : '–',
        pct(r.haulOverRawPipe),
        r.haulOverRawPipe ? `${fixed(r.haulOverRawPipe.pairedMin * 100)}–${fixed(r.haulOverRawPipe.pairedMax * 100)}%` : '–',
      ]),
    ),
  );

  const mdHeader = ['Upload of ' + (sizeMiB % 1024 === 0 ? `${sizeMiB / 1024} GiB` : `${sizeMiB} MiB`), ...targets.map((t) => TARGET_LABELS[t.id])];
  if (get(modes[0], 'haul') && get(modes[0], 'bare-tus')) mdHeader.push('Haul / bare');
  if (get(modes[0], 'haul') && get(modes[0], 'raw-pipe')) mdHeader.push('Haul / raw');
  const markdown = [
    markdownTable(
      mdHeader,
      modes.map((mode) => {
        const row = [mode === 'whole' ? 'one PATCH' : `${chunkMiB} MiB PATCHes`, ...targets.map((t) => cell(get(mode, t.id)))];
        const r = ratios.find((x) => x.mode === mode);
        if (mdHeader.includes('Haul / bare')) row.push(pct(r.haulOverBareTus));
        if (mdHeader.includes('Haul / raw')) row.push(pct(r.haulOverRawPipe));
        return row;
      }),
    ),
    '',
    `MiB/s, median (min–max) of ${rounds} rounds, targets measured alternately; ${os.cpus().length} CPUs, Node ${process.version}, ` +
      `client and server on 127.0.0.1, files on ${os.platform()} ${os.tmpdir()} (page cache, no fsync). \`npm run bench\`.`,
  ].join('\n');
  log('');
  log('Markdown:');
  log('');
  log(markdown);

  const results = {
    benchmark: name,
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    loadavgAtEnd: os.loadavg(),
    tmpdir: os.tmpdir(),
    config: { rounds, sizeMiB, chunkMiB, warmupMiB, modes, targets: targets.map((t) => t.id), haulLogLevel: process.env.BENCH_HAUL_LOG_LEVEL || 'warn', profileDir },
    elapsedS,
    peakRssMiB: Object.fromEntries(targets.map((t) => [t.id, t.peakRssMiB])),
    summary,
    ratios,
    samples,
    markdown,
  };
  const resultsDir = path.join(BENCH_DIR, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${name}.json`);
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  log('');
  log(`wrote ${path.relative(process.cwd(), file) || file} (${fixed(elapsedS)} s of measuring)`);
  return results;
}
