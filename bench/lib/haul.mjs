// Haul (the built server, server/dist/main.js) as a benchmark target in a child process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startChild } from './children.mjs';
import { request } from './http-client.mjs';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HAUL_MAIN = path.join(REPO_ROOT, 'server/dist/main.js');
export const HAUL_DIST = path.join(REPO_ROOT, 'server/dist');

export function assertBuilt() {
  if (!fs.existsSync(HAUL_MAIN)) throw new Error(`${HAUL_MAIN} is missing: build first (npx tsc -b)`);
}

/** PATH and HOME only: no stray S3_*, DATABASE_URL … from the caller's shell reach a child. */
export const baseEnv = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir() });

/**
 * Starts Haul with its data (PGlite database, disk uploads) in `dataDir` and `env` on top of
 * benchmark defaults: dev auth, no processing worker, no scanning, big uploads allowed. Returns
 * the child plus a dev token for user "bench". `onLine` sees every log line (JSON).
 */
export async function startHaul({ name = 'haul', dataDir, env = {}, logLevel = 'warn', maxSize = 0, nodeArgs = [], logFile, onLine }) {
  assertBuilt();
  fs.mkdirSync(dataDir, { recursive: true });
  // At LOG_LEVEL=warn Haul does not log "haul listening": pick the port here and poll /healthz.
  const port = await freePort();
  const MiB = 1024 * 1024;
  const proc = await startChild({
    name,
    args: [...nodeArgs, HAUL_MAIN],
    env: {
      ...baseEnv(),
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: logLevel,
      AUTH_MODE: 'dev',
      MAX_UPLOAD_SIZE: String(Math.max(maxSize, 10 * 1024 * MiB)),
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
    const token = await devToken(proc.url);
    return { proc, url: proc.url, endpoint: `${proc.url}/files/`, token, headers: { Authorization: `Bearer ${token}` } };
  } catch (error) {
    await proc.stop();
    throw error;
  }
}

/** POST /api/dev/token {"user": user} → bearer token. */
export async function devToken(url, user = 'bench') {
  const res = await request(`${url}/api/dev/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  if (res.status !== 200) throw new Error(`dev token: ${res.status} ${res.body}`);
  return JSON.parse(res.body).token;
}

/** Total bytes of upload data files below `dir` (tus `.json` metadata files and assembly temp files excluded). */
export function diskDataBytes(dir) {
  let total = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += diskDataBytes(full);
    else if (entry.isFile() && !entry.name.endsWith('.json')) total += fs.statSync(full).size;
  }
  return total;
}

/** Removes everything below `dir`, keeps `dir`. */
export function emptyDir(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
}
