import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Logger } from '../logger.js';
import { readPostmasterPid } from './embedded-postgres-files.js';
import { isProcessAlive } from './process-alive.js';

/**
 * Called with the directory lock held, so no live Haul server owns the cluster. A postmaster.pid
 * left behind means the last server died: its watchdog normally stops PostgreSQL right away, but if
 * the watchdog died too (a kill -9 of the whole group), PostgreSQL may still run. Stop it (fast
 * shutdown, then harder), so the new server starts its own. A PID that now belongs to some other
 * program (after a reboot) is not signalled; the stale file is removed instead.
 */
export async function stopStalePostmaster(dataDir: string, logger: Logger): Promise<void> {
  const postmaster = await readPostmasterPid(dataDir);
  if (!postmaster || !isProcessAlive(postmaster.pid)) return;
  if (!(await isPostgres(postmaster.pid))) {
    await fs.rm(path.join(dataDir, 'postmaster.pid'), { force: true });
    return;
  }
  logger.warn('stopping the embedded PostgreSQL an earlier Haul server left running', { pid: postmaster.pid });
  for (const [signal, waitMs] of [['SIGINT', 15_000], ['SIGQUIT', 5_000], ['SIGKILL', 5_000]] as const) {
    if (!sendSignal(postmaster.pid, signal)) return;
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if (!isProcessAlive(postmaster.pid)) return;
      await sleep(50);
    }
  }
  throw new Error(`The embedded PostgreSQL left running by an earlier server (PID ${postmaster.pid}) does not stop`);
}

function sendSignal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

async function isPostgres(pid: number): Promise<boolean> {
  if (process.platform === 'linux') {
    const name = await fs.readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    return name.trim() === 'postgres';
  }
  const { stdout } = await promisify(execFile)('ps', ['-p', String(pid), '-o', 'comm=']).catch(() => ({ stdout: '' }));
  return path.basename(stdout.trim()) === 'postgres';
}
