import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = path.join(REPO_ROOT, 'server/dist/main.js');

export interface HaulServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** `${url}/files/` */
  tusEndpoint: string;
  dataDir: string;
  env: Record<string, string>;
  process: ChildProcess;
  logs: () => string;
  /** A dev-mode bearer token for `user`. */
  token(user: string): Promise<string>;
  /** SIGTERM and wait for exit (graceful shutdown). */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** Extra environment (DATABASE_URL, S3_*, …). Default: embedded PGlite, disk storage. */
  env?: Record<string, string | undefined>;
  /** Reuse a data directory (to restart "the same" server). */
  dataDir?: string;
  /** Fixed port (to restart on the same URL); default: any free port. */
  port?: number;
}

/**
 * Starts the built server (`npm run build` first) as a child process on 127.0.0.1, the way
 * users run it, and waits until it logs that it is listening.
 */
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
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 60s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"msg":"haul listening","url":"([^"]+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    url,
    tusEndpoint: `${url}/files/`,
    dataDir,
    env,
    process: child,
    logs: () => output,
    async token(user) {
      const res = await fetch(`${url}/api/dev/token`, { method: 'POST', body: JSON.stringify({ user }) });
      if (!res.ok) throw new Error(`token for ${user}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
