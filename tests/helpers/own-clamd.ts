import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, REPO_ROOT } from './haul-server.js';

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
