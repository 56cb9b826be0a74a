import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { type FreshDatabase, freshDatabase } from './database.js';

/**
 * The built server and processing worker (`npm run build` first) as child processes, started the
 * way users run them (`npm start`, `npm run worker`) and awaited until they say they are ready.
 */

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER_MAIN = path.join(REPO_ROOT, 'server/dist/main.js');
const WORKER_MAIN = path.join(REPO_ROOT, 'server/dist/worker-main.js');

/** A process of ours: its output so far, a graceful stop and a crash. */
export interface ServiceProcess {
  process: ChildProcess;
  logs(): string;
  /** SIGTERM and wait for exit (graceful shutdown); the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
}

export interface HaulServer extends ServiceProcess {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** `${url}/files/` */
  tusEndpoint: string;
  dataDir: string;
  env: Record<string, string>;
  /** A dev-mode bearer token for `user`. */
  token(user: string): Promise<string>;
}

export type WorkerProcess = ServiceProcess;

interface Readiness {
  /** Output that says the process is ready (its match is returned). */
  pattern: RegExp;
  /** For error messages: "server exited with 1 before listening". */
  name: string;
  state: string;
  timeoutMs: number;
}

/** Spawns `node <main>` with exactly `env` and resolves once its output says it is ready; rejects if it exits first or takes too long. */
async function spawnService(main: string, env: Record<string, string>, { pattern, name, state, timeoutMs }: Readiness) {
  const child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs / 1000}s:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const found = pattern.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before ${state}:\n${output}`));
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  const service: ServiceProcess = {
    process: child,
    logs: () => output,
    async stop() {
      if (!running()) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (!running()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  return { service, match };
}

export interface StartOptions {
  /** Extra environment (DATABASE_URL, S3_*, …). Default: the embedded PostgreSQL, disk storage. */
  env?: Record<string, string | undefined>;
  /** Reuse a data directory (to restart "the same" server). */
  dataDir?: string;
  /** Fixed port (to restart on the same URL); default: any free port. */
  port?: number;
}

/** Starts the server on 127.0.0.1 and waits until it logs that it is listening. */
export async function startHaul(options: StartOptions = {}): Promise<HaulServer> {
  const dataDir = options.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'haul-test-')));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    TMPDIR: os.tmpdir(),
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(options.port ?? 0),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    EXPIRY_SWEEP_INTERVAL_SECONDS: '3600',
    // Upload tests look at uploads as they arrive (`received`); processing tests turn the
    // worker on (WORKER=embedded) and choose SCAN_MODE themselves.
    WORKER: 'off',
    SCAN_MODE: 'off',
  };
  for (const [key, value] of Object.entries(options.env ?? {})) if (value !== undefined) env[key] = value;
  const { service, match } = await spawnService(SERVER_MAIN, env, {
    pattern: /"msg":"haul listening","url":"([^"]+)"/, name: 'server', state: 'listening', timeoutMs: 60_000,
  });
  const url = match[1]!;
  return {
    ...service,
    url,
    tusEndpoint: `${url}/files/`,
    dataDir,
    env,
    async token(user) {
      const res = await fetch(`${url}/api/dev/token`, { method: 'POST', body: JSON.stringify({ user }) });
      if (!res.ok) throw new Error(`token for ${user}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    },
  };
}

/** Stops a server started on a data directory of its own (if it started at all) and deletes that directory. */
export async function stopAndRemoveData(server: HaulServer | undefined): Promise<void> {
  if (!server) return;
  await server.stop();
  await fs.rm(server.dataDir, { recursive: true, force: true });
}

/** `node server/dist/worker-main.js` with `env` (as `npm run worker` runs it), once it has started. */
export async function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const { service } = await spawnService(WORKER_MAIN, env, {
    pattern: /"msg":"processing worker started"/, name: 'worker', state: 'it started', timeoutMs: 30_000,
  });
  return service;
}

/** Processing on: the embedded worker, every file scanned by the local clamd (scripts/local-clamd.sh). */
export const processingEnv = (extra: Record<string, string | undefined> = {}) => ({
  WORKER: 'embedded',
  SCAN_MODE: 'required',
  CLAMD_HOST: '127.0.0.1',
  CLAMD_PORT: process.env.TEST_CLAMD_PORT ?? '3310',
  ...extra,
});

/** A server with processing on, on a database of its own. */
export interface ProcessingHaul {
  server: HaulServer;
  database: FreshDatabase;
  /** Stops the server and drops its database. */
  close(): Promise<void>;
}

/**
 * A server with processing on (processingEnv with `env`) on a fresh database: the run's database
 * holds other files' uploads with pending processing jobs, which this worker would claim.
 */
export async function startProcessingHaul(env: Record<string, string | undefined> = {}): Promise<ProcessingHaul> {
  const database = await freshDatabase(inject('databaseUrl'));
  try {
    const server = await startHaul({ env: processingEnv({ ...env, DATABASE_URL: database.url }) });
    return {
      server,
      database,
      async close() {
        await server.stop();
        await database.drop();
      },
    };
  } catch (error) {
    await database.drop();
    throw error;
  }
}

/** A TCP port free right now on 127.0.0.1 (to restart a server on the same URL, or give a service its own). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
