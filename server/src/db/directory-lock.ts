import fs from 'node:fs/promises';

export interface DirectoryLock {
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock file holding our PID. A lock left by a dead process (kill -9, crash) is
 * taken over; a live holder makes us fail with a message that says what to do.
 */
export async function acquireDirectoryLock(lockPath: string, what: string): Promise<DirectoryLock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await fs.open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return {
        release: async () => {
          await fs.rm(lockPath, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(await fs.readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
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
