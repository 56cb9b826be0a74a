import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type FlakyProxy, type FlakyProxyOptions, startFlakyProxy } from './flaky-proxy.js';
import { freePort, type ProcessingHaul, REPO_ROOT, startProcessingHaul } from './haul-server.js';

const run = promisify(execFile);

export interface OwnClamd {
  port: number;
  start(): Promise<void>;
  /** Graceful stop (SIGTERM, as an operator's restart). */
  stop(): Promise<void>;
  /** SIGKILL (a crash, the OOM killer). */
  kill(): Promise<void>;
  /** Stops it (if running) and removes its state directory. */
  dispose(): Promise<void>;
}

/**
 * A clamd of a test's own (scripts/local-clamd.sh with its own HAUL_LOCAL_DIR and port), for tests
 * that stop, kill or reconfigure clamd: the shared one on TEST_CLAMD_PORT is never touched.
 * `env` passes the script's settings, e.g. CLAMD_MAX_SCAN_TIME.
 */
export async function ownClamd(env: Record<string, string> = {}): Promise<OwnClamd> {
  const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-clamd-'));
  const port = await freePort();
  const script = (command: string) =>
    run('bash', [path.join(REPO_ROOT, 'scripts/local-clamd.sh'), command], {
      env: { ...process.env, ...env, HAUL_LOCAL_DIR: stateDir, CLAMD_PORT: String(port) },
    });
  const clamd: OwnClamd = {
    port,
    start: async () => void (await script('start')),
    stop: async () => void (await script('stop')),
    async kill() {
      const pid = Number(await fs.readFile(path.join(stateDir, 'clamd/clamd.pid'), 'utf8'));
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async dispose() {
      await script('stop').catch(() => {});
      await fs.rm(stateDir, { recursive: true, force: true });
    },
  };
  await clamd.start();
  return clamd;
}

/** Haul with processing on, on a fresh database, scanning with a clamd of its own. */
export interface ProcessingWithOwnClamd<Proxy extends FlakyProxy | undefined = FlakyProxy | undefined> extends ProcessingHaul {
  clamd: OwnClamd;
  /** The proxy between Haul and clamd, when one was asked for. */
  proxy: Proxy;
  /** Stops the server, the proxy and clamd, and drops the database (whatever of them started). */
  close(): Promise<void>;
}

export interface ProcessingWithOwnClamdOptions {
  /** local-clamd.sh's settings for the clamd (e.g. CLAMD_MAX_SCAN_TIME). */
  clamdEnv?: Record<string, string>;
  /** Put a FlakyProxy with these options between Haul and clamd (to count, throttle or stall what Haul sends). */
  proxy?: Omit<FlakyProxyOptions, 'target'>;
  /** The server's environment beyond processingEnv, the database and clamd's port. */
  env?: Record<string, string>;
}

/**
 * For test files that measure or break what goes to clamd: a clamd of their own (and a proxy in
 * front of it) and a startProcessingHaul scanning with it. If any part fails to start, the parts
 * already started are closed again.
 */
export async function processingWithOwnClamd(
  options: ProcessingWithOwnClamdOptions & { proxy: Omit<FlakyProxyOptions, 'target'> },
): Promise<ProcessingWithOwnClamd<FlakyProxy>>;
export async function processingWithOwnClamd(options?: ProcessingWithOwnClamdOptions): Promise<ProcessingWithOwnClamd>;
export async function processingWithOwnClamd(options: ProcessingWithOwnClamdOptions = {}): Promise<ProcessingWithOwnClamd> {
  const parts: { clamd?: OwnClamd; proxy?: FlakyProxy; haul?: ProcessingHaul } = {};
  const close = async () => {
    await parts.haul?.close();
    await parts.proxy?.close();
    await parts.clamd?.dispose();
  };
  try {
    const clamd = (parts.clamd = await ownClamd(options.clamdEnv));
    const proxy = (parts.proxy = options.proxy && (await startFlakyProxy({ ...options.proxy, target: `http://127.0.0.1:${clamd.port}` })));
    const { server, database } = (parts.haul = await startProcessingHaul({ ...options.env, CLAMD_PORT: String(proxy?.port ?? clamd.port) }));
    return { clamd, proxy, database, server, close };
  } catch (error) {
    await close();
    throw error;
  }
}
