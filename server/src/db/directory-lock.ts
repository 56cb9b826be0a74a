import fs from 'node:fs/promises';
import path from 'node:path';
import { isProcessAlive } from './process-alive.js';

export interface DirectoryLock {
  release(): Promise<void>;
}

/** Lock files held by this process: a PID alone cannot tell two instances in one process apart. */
const heldHere = new Set<string>();

/**
 * An exclusive lock file holding our PID. A lock left by a dead process (kill -9, crash) is
 * taken over — also one with our own PID (in a container every restart may be PID 1) unless
 * another instance in this process holds it; a live holder makes us fail with a message that
 * says what to do.
 */
export async function acquireDirectoryLock(lockPath: string, what: string): Promise<DirectoryLock> {
  const key = path.resolve(lockPath);
  if (heldHere.has(key)) {
    throw new Error(`The ${what} at ${lockPath.replace(/\.lock$/, '')} is already in use by another Haul server in this process. Give each one its own DATA_DIR.`);
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await fs.open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      heldHere.add(key);
      return {
        release: async () => {
          heldHere.delete(key);
          await fs.rm(lockPath, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(await fs.readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && holder !== process.pid && isProcessAlive(holder)) {
        throw new Error(
          `The ${what} at ${lockPath.replace(/\.lock$/, '')} is in use by process ${holder}. ` +
            'Stop that process, use another DATA_DIR, or set DATABASE_URL to share a PostgreSQL database.',
        );
      }
      await fs.rm(lockPath, { force: true });
    }
  }
  throw new Error(`Could not acquire ${lockPath}`);
}
