import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Child, freePort, startChild } from './children.js';
import { request } from './http-client.js';
import { HAUL_DIST } from './paths.js';

/** Haul (the built server, server/dist/main.js) as a benchmark target in a child process. */

const HAUL_MAIN = path.join(HAUL_DIST, 'main.js');

/**
 * The Node flags Haul runs with on this Node (scripts/node-flags.mjs: `npm start`, `npm run worker`,
 * the Dockerfile's CMD), so benchmarks run Haul as it runs in production: a 96 MiB floor under the
 * old generation's limit, and `--max-semi-space-size=1` on Node 24 and later (README, "Ingest and the
 * garbage collector"; haul-node-flags.test.ts keeps the copies in step).
 */
export const HAUL_NODE_FLAGS = ['--initial-old-space-size=96', ...(Number(process.versions.node.split('.')[0]) >= 24 ? ['--max-semi-space-size=1'] : [])];

export function assertBuilt(): void {
  if (!fs.existsSync(HAUL_MAIN)) throw new Error(`${HAUL_MAIN} is missing: build first (npm run build)`);
}

/** PATH and HOME only: no stray S3_*, DATABASE_URL … from the caller's shell reach a child. */
export const baseEnv = (): Record<string, string> => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir() });

/** Node flags for server processes: --cpu-prof into `profileDir` (BENCH_PROFILE), plus BENCH_NODE_ARGS verbatim. */
export function nodeFlags(name: string, profileDir: string | undefined): string[] {
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  return profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.${Date.now()}.cpuprofile`, ...extra] : extra;
}

export interface HaulTarget {
  child: Child;
  /** The tus endpoint, `<url>/files/`. */
  endpoint: string;
  /** A dev bearer token for user "bench". */
  headers: Record<string, string>;
}

export interface HaulOptions {
  name?: string;
  /** Its embedded database and disk uploads. */
  dataDir: string;
  env?: Record<string, string>;
  logLevel?: string;
  /** MAX_UPLOAD_SIZE at least this (and 10 GiB). */
  maxSize?: number;
  nodeArgs?: string[];
  logFile?: string;
  onLine?(line: string): void;
}

/**
 * Starts Haul with `env` on top of benchmark defaults: dev auth, no processing worker, no
 * scanning, big uploads allowed; returns it with a dev token for user "bench".
 */
export async function startHaul({ name = 'haul', dataDir, env = {}, logLevel = 'warn', maxSize = 0, nodeArgs = [], logFile, onLine }: HaulOptions): Promise<HaulTarget> {
  assertBuilt();
  fs.mkdirSync(dataDir, { recursive: true });
  // At LOG_LEVEL=warn Haul does not log "haul listening": pick the port here and poll /healthz.
  const port = await freePort();
  const child = await startChild({
    name,
    args: [...HAUL_NODE_FLAGS, ...nodeArgs, HAUL_MAIN],
    env: {
      ...baseEnv(),
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: logLevel,
      AUTH_MODE: 'dev',
      MAX_UPLOAD_SIZE: String(Math.max(maxSize, 10 * 2 ** 30)),
      EXPIRY_SWEEP_INTERVAL_SECONDS: '3600',
      WORKER: 'off',
      SCAN_MODE: 'off',
      ...env,
    },
    readyMsg: 'haul listening',
    probeUrl: `http://127.0.0.1:${port}/healthz`,
    logFile,
    onLine,
  });
  try {
    const token = await devToken(child.url);
    return { child, endpoint: `${child.url}/files/`, headers: { Authorization: `Bearer ${token}` } };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/** POST /api/dev/token {"user": user} → bearer token. */
export async function devToken(url: string, user = 'bench'): Promise<string> {
  const res = await request(`${url}/api/dev/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  if (res.status !== 200) throw new Error(`dev token: ${res.status} ${res.body}`);
  return (JSON.parse(res.body) as { token: string }).token;
}

/**
 * The tus requests (POST, PATCH, HEAD) an instance has answered so far, from its own
 * `haul_requests_total` (GET /metrics; no METRICS_TOKEN set). Health checks and scrapes are GETs.
 */
export async function tusRequestsAnswered(url: string): Promise<number> {
  const res = await request(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${res.body.slice(0, 200)}`);
  let total = 0;
  for (const match of res.body.matchAll(/^haul_requests_total\{([^}]*)\} (\S+)$/gm)) {
    if (/method="(POST|PATCH|HEAD)"/.test(match[1]!)) total += Number(match[2]);
  }
  return total;
}

/** Total bytes of upload data files below `dir` (tus `.json` metadata files excluded). */
export function diskDataBytes(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += diskDataBytes(full);
    else if (entry.isFile() && !entry.name.endsWith('.json')) total += fs.statSync(full).size;
  }
  return total;
}

/** Removes everything below `dir`, keeps `dir`. */
export function emptyDir(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
}
